// ForkController: Run > Fork… (README "Forks", "In the studio"). The dialog (ForkDialog) says
// what varies; pressing Fork pauses the run, takes its state at the iteration boundary
// (TrainingSession::captureStateNow), makes the fork exactly as trpo-train --fork does from the
// run directory (run::stateAt, run::createFork) and trains it on a ForkSession, while a
// ComparisonView in a window of its own fills in live. The parent is the studio's live run
// directory; without one (--no-run-dir) the run is first written to the fork's parent/ folder.
// Closing the comparison window, its Stop button, or closing the studio stops the fork
// promptly, and what it trained stays on disk, ready for File > Open comparison.
#pragma once

#include <QObject>
#include <QPointer>
#include <QString>
#include <vector>

#include "run/fork.h"
#include "ui/compare/comparison_view.h"
#include "ui/compare/fork_session.h"
#include "ui/pace.h"

class QAction;
class QPushButton;

namespace ui {

class Dialogs;
class ForkDialog;
class MainWindow;

class ForkController : public QObject {
    Q_OBJECT
public:
    ForkController(MainWindow* window, Dialogs* dialogs);
    ~ForkController() override;

    // opens the fork dialog (window-modal, not blocking); Fork starts the fork
    void forkWithDialog();
    ForkDialog* dialog() const; // the one open, or null
    // pauses the run and forks it at its current iteration into the variants of `vary`, each
    // trained `iterations` more; dir empty: the default folder. Returns the live comparison,
    // or null after an error message naming the folder or the setting.
    ComparisonView* fork(const run::VarySpec& vary, int iterations, const QString& dir = {});
    // Continues the fork in dir, shown in `view`: every variant trains `iterations` more from
    // its checkpoint (ForkSession::resume) and the view fills in live again. False after an
    // error message naming the file.
    bool continueFork(ComparisonView* view, const QString& dir, int iterations);
    // a fork's view that is not training offers Continue, which continues the fork in dir
    void offerContinue(ComparisonView* view, const QString& dir);
    // where a fork of the run at its current iteration varying `key` goes by default: under the
    // live run directory (forks/at<ITER>-<KEY>), else under the studio's data folder
    QString defaultDirectory(const std::string& key) const;

    // every fork from now on and the ones training follow the window's pace
    void setPace(Pace pace);
    // stops every fork (closing the studio); each keeps what it trained
    void stopAll();
    // the forks still training, and their views
    std::vector<ForkSession*> sessions() const;

signals:
    // a fork began training; its comparison is `view`
    void forkStarted(ComparisonView* view, ForkSession* session);
    // every variant of the fork stopped (budget, stop, close)
    void forkFinished(ForkSession* session);

private:
    void attach(ComparisonView* view, ForkSession* session);

    MainWindow* m_window;
    Dialogs* m_dialogs;
    QPointer<ForkDialog> m_dialog;
    Pace m_pace = Pace::max();
    std::vector<QPointer<ForkSession>> m_sessions;
};

} // namespace ui
