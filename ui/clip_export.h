// ClipExporter: File > Export clip… A dialog asks for the format (MP4 or GIF), the number of
// episodes, the frame size and the file; the policy playing in the viewer (its latest
// snapshot, deterministic or not as the viewer plays it) is then recorded on a worker thread
// (video/clip_recorder.h) with a progress dialog whose Cancel stops it and leaves no file.
// The worker gets the snapshot (an immutable value) and touches no widget; progress and the
// outcome come back through a HandOff (ui/hand_off.h) that the UI thread drains. Destroying
// the exporter (closing the window) cancels and joins.
#pragma once

#include <QObject>
#include <QPointer>
#include <QString>
#include <atomic>
#include <thread>

#include "ui/hand_off.h"
#include "video/clip_recorder.h"

class QDialog;
class QProgressDialog;
class QWidget;

namespace ui {

class Dialogs;
class EnvView;

class ClipExporter : public QObject {
    Q_OBJECT
public:
    ClipExporter(EnvView* view, Dialogs* dialogs, QWidget* dialogParent, QObject* parent = nullptr);
    ~ClipExporter() override;

    // starts recording the viewer's policy into path; false (and an error message) when no
    // policy plays yet or a clip is already being written. clipExported or clipFailed follows.
    bool exportClip(const QString& path, const video::ClipOptions& options);
    // the options dialog (non-blocking, objectName "exportClipDialog"); its OK starts the export
    void exportClipWithDialog();
    // stops the clip being written (nothing is left on disk); clipCancelled follows
    void cancel();
    bool isBusy() const { return m_worker.joinable(); }
    QProgressDialog* progressDialog() const { return m_progress; }

signals:
    void clipExported(const QString& path, int frames);
    void clipFailed(const QString& message);
    void clipCancelled();
    void progressChanged(double fraction);
    // internal: the worker has queued progress or its outcome (emitted on the worker thread)
    void resultsPosted();

private:
    void finished(const QString& path, const video::ClipResult& result, const QString& error);
    EnvView* m_view;
    Dialogs* m_dialogs;
    QWidget* m_dialogParent;
    QPointer<QDialog> m_dialog;
    QProgressDialog* m_progress = nullptr;
    std::thread m_worker;
    std::atomic<bool> m_cancel{false};
    HandOff<> m_results; // worker thread -> UI thread
};

} // namespace ui
