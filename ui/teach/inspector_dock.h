// InspectorDock: the trust-region inspector (TEACHING.md items 3, 5 and 6). For the latest
// iteration, or any iteration clicked in a time plot, it shows that update along its step
// direction (TrustRegionPlot), a title line with its numbers rounded to 3 significant digits
// (exact ones on hover), and the δ what-if fan as a table: what δ/10 … 10δ would have done on
// the same batch. Choosing a what-if row (or its diamond) asks for that δ (deltaChosen).
//
// The probes come from the training thread as ProbePtr snapshots (TrainingSession::probeReady);
// nothing here touches the trainer. Two ways to get them: "every iteration" (the worker probes
// each update during its line search and sends the probe after the iteration; the inspector
// keeps the last ProbeStore::capacity() of them for clicks) or "on demand" (nothing is
// computed until Inspect latest, or until the dock is opened while training is paused).
#pragma once

#include <QDockWidget>
#include <QElapsedTimer>
#include <QTimer>

#include "ui/metatypes.h"
#include "ui/teach/probe_store.h"

class QBoxLayout;
class QComboBox;
class QLabel;
class QPushButton;
class QTableWidget;

namespace ui {

class RunHistory;
class TrainingSession;
class TrustRegionPlot;

class InspectorDock : public QDockWidget {
    Q_OBJECT
public:
    enum class Mode { EveryIteration, OnDemand };

    // follows the session's probes and the history's resets; neither is owned
    InspectorDock(TrainingSession* session, RunHistory* history, QWidget* parent = nullptr);

    Mode mode() const { return m_every > 0 ? Mode::EveryIteration : Mode::OnDemand; }
    // tells the worker to probe every iteration or none (the combo box calls it too)
    void setMode(Mode mode) { setProbeEvery(mode == Mode::EveryIteration ? 1 : 0); }
    // the same, with a period: every n-th iteration (1: every one), 0 = on demand
    void setProbeEvery(int n);
    int probeEvery() const { return m_every; }
    // the Inspect latest button: the last completed iteration's probe, asked of the worker
    void inspectLatest();
    // a clicked iteration: its kept probe, or a plain message saying why there is none
    void showIteration(int iteration);
    // the probes of an opened run (its trust_region.jsonl): kept, the latest shown
    void addProbes(const std::vector<ProbePtr>& probes);

    const ProbeStore& store() const { return m_store; }
    ProbePtr shownProbe() const;
    TrustRegionPlot* plot() const { return m_plot; }
    QTableWidget* fanTable() const { return m_fan; }
    QPushButton* inspectButton() const { return m_inspect; }
    QComboBox* modeBox() const { return m_modeBox; }
    QLabel* titleLabel() const { return m_title; }
    QLabel* messageLabel() const { return m_message; }

    // a what-if δ′ as it is offered: rounded to 3 significant digits
    static double roundedDelta(double deltaPrime);

signals:
    // a probe is on screen now
    void probeShown(const ProbePtr& probe);
    // a what-if step was chosen: use δ′ (rounded) from the next iteration
    void deltaChosen(double deltaPrime);

protected:
    bool event(QEvent* e) override;
    void resizeEvent(QResizeEvent* event) override;

private:
    void onProbe(const ProbePtr& p);
    void display(const ProbePtr& p);
    void showMessage(const QString& text);
    void followFontSize(); // the chart large when the application's font is (presentation)
    void fillTitle(const core::TrustRegionProbe& p);
    void fillFan(const core::TrustRegionProbe& p);
    void clearAll();
    void chooseWhatIf(int index);

    TrainingSession* m_session;
    RunHistory* m_history;
    ProbeStore m_store;
    int m_every = 0; // probe every m_every-th iteration; 0 = on demand
    bool m_follow = true;     // show each new probe; off while a clicked iteration is shown
    bool m_requested = false; // an Inspect latest is on its way
    bool m_latestPending = false; // a newer probe than the one drawn is kept (hidden, or too soon)
    static constexpr int kMaxDrawsPerSecond = 4;
    QElapsedTimer m_lastDraw; // since the last probe drawn
    QTimer m_drawTimer;       // draws the latest once it is no longer too soon
    double m_baseFontSize = 0;
    QBoxLayout* m_layout = nullptr; // chart and numbers, side by side or stacked
    QComboBox* m_modeBox = nullptr;
    QPushButton* m_inspect = nullptr;
    QLabel* m_title = nullptr;
    QLabel* m_message = nullptr;
    TrustRegionPlot* m_plot = nullptr;
    QLabel* m_fanCaption = nullptr;
    QTableWidget* m_fan = nullptr;
};

} // namespace ui
