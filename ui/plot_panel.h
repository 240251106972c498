// PlotPanel: the live diagnostics of a run, one PlotWidget per quantity in a grid, with the
// x-axis switch (iteration / environment steps), the smoothing slider and "export all". It
// follows the run's RunHistory (appended, reset, loaded) and keeps no copy of it: the plots
// read their samples from it when they rebuild their display data.
#pragma once

#include <QElapsedTimer>
#include <QTimer>
#include <QWidget>
#include <optional>
#include <utility>
#include <vector>

#include "ui/metatypes.h"
#include "ui/plot_widget.h"

class QComboBox;
class QSlider;
class QLabel;
class QGridLayout;

namespace ui {

class RunHistory;

class PlotPanel : public QWidget {
    Q_OBJECT
public:
    explicit PlotPanel(RunHistory* history, QWidget* parent = nullptr);

    // presentation mode: large type, thick lines, and only the two presentation plots, one
    // above the other (the main window puts them beside the environment; README, "The studio")
    void setPresentation(bool on);
    bool isPresentation() const { return m_presentation; }
    // the two plots presentation mode shows, top and bottom (two different plots of plots();
    // anything else is ignored). Default: episode return above KL.
    void setPresentationPlots(PlotWidget* top, PlotWidget* bottom);
    std::pair<PlotWidget*, PlotWidget*> presentationPlots() const { return {m_presentationTop, m_presentationBottom}; }
    // a plot's stable name for the settings file ("return", "kl", ...); empty for none
    QString plotKey(const PlotWidget* plot) const;
    // the plot of a stable name; null for an unknown one
    PlotWidget* plotForKey(const QString& key) const;
    void setXAxisMode(XAxisMode mode);
    void setSmoothing(double weight);
    // writes <dir>/<plot>.png and .pdf for every plot; false if any failed
    bool exportAll(const QString& dir);
    // training runs at the max pace: repaint cycles further apart (every 250 ms to 2 s, as
    // their cost asks; at a teaching pace every 250 ms to 2 s as well, but sooner)
    void setMaxPace(bool on);
    // every plot rebuilt and repainted now (a screenshot), not on the paced repaint cycle
    void replotNow();
    // asks for a folder, then exportAll: plotsExported or exportFailed follows
    void exportAllWithDialog();

    // every plot, and the ones whose x axis is the iteration (all but the CG residual plot)
    const std::vector<PlotWidget*>& plots() const { return m_plots; }
    std::vector<PlotWidget*> timePlots() const;
    PlotWidget* returnPlot() const { return m_return; }
    PlotWidget* klPlot() const { return m_kl; }
    PlotWidget* budgetPlot() const { return m_budget; }
    PlotWidget* improvementPlot() const { return m_improvement; }
    PlotWidget* valuePlot() const { return m_value; }
    PlotWidget* speedPlot() const { return m_speed; }
    PlotWidget* cgPlot() const { return m_cg; }
    XAxisMode xAxisMode() const { return m_xMode; }
    double smoothing() const { return m_smoothingWeight; }

    // "δ 0.01 → 0.03", with the change's origin when it has one: "δ 0.01 → 0.03 (what-if)"
    static QString markerLabel(const core::ConfigEvent& e, const QString& note = {});

signals:
    void presentationPlotsChanged();
    void plotsExported(const QString& dir);
    // "Export all" could not write every plot to the folder, or a plot's own export its file
    void exportFailed(const QString& where);
    // a click on a time plot, at this iteration (the inspector shows its probe)
    void iterationClicked(int iteration);
    // a click on the return plot, at this iteration, with the keys held (a replay)
    void returnClicked(int iteration, Qt::KeyboardModifiers modifiers);

public slots:
    // the viewer painted a frame: the next plot repaint goes now, right after it, so it
    // never delays the following frame (without frames a timer paces the repaints)
    void onViewerFrame();

private:
    void layoutPlots();
    void paintSlice(); // one plot of the current repaint cycle
    void onIterationAppended(const core::IterationStats& s);
    void addMarkers(const std::vector<core::ConfigEvent>& events);
    void rebuild(); // after a reset or a load: everything from the history
    void queueReplots();

    RunHistory* m_history;
    PlotWidget* m_return = nullptr;
    PlotWidget* m_kl = nullptr;
    PlotWidget* m_budget = nullptr;
    PlotWidget* m_lineSearch = nullptr;
    PlotWidget* m_improvement = nullptr;
    PlotWidget* m_entropy = nullptr;
    PlotWidget* m_value = nullptr;
    PlotWidget* m_cg = nullptr;
    PlotWidget* m_speed = nullptr;
    std::vector<PlotWidget*> m_plots;
    std::vector<QString> m_keys; // m_plots[i]'s stable name
    PlotWidget* m_presentationTop = nullptr;
    PlotWidget* m_presentationBottom = nullptr;
    QGridLayout* m_grid = nullptr;
    QLabel* m_hint = nullptr;
    QLabel* m_rolledBackNote = nullptr;
    QWidget* m_exportButton = nullptr;
    bool m_presentation = false;
    // replots one pending plot per tick, so that a burst of eight replots never holds up
    // the environment view's frames
    QTimer m_replotTimer;
    QElapsedTimer m_cycleClock; // time since the last repaint cycle started
    bool m_replotDirty = false; // data changed since the last cycle
    // plots paint at most 1/kPaintShare of the time at a pace a class follows, and at most
    // 1/kMaxPacePaintShare at the max pace, where on two cores every millisecond the UI
    // thread and the X server spend painting is one training loses (setMaxPace)
    static constexpr double kPaintShare = 25;
    static constexpr double kMaxPacePaintShare = 60;
    double m_paintShare = kPaintShare;
    double m_cycleCostMs = 0;                 // painting time of the current cycle
    QElapsedTimer m_lastViewerFrame;          // invalid until the viewer paints
    qint64 m_cycleIntervalMs = 250;           // time between the starts of two cycles
    std::vector<PlotWidget*> m_pendingReplots;
    QComboBox* m_xAxis = nullptr;
    QSlider* m_smoothing = nullptr;
    QLabel* m_smoothingLabel = nullptr;
    XAxisMode m_xMode = XAxisMode::Iteration;
    double m_smoothingWeight = 0;
};

} // namespace ui
