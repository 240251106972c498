// ComparisonView: a fork (run/fork.h, README "Forks") as one comparison. Every plot overlays
// the variants, one series each in the Okabe-Ito colour-blind-safe palette with a legend, the
// fork iteration marked; the table lists each variant's final and best return, steps to the
// environment's solved threshold, mean KL of the steps taken and line-search rejections
// (run::summarize, the numbers trpo-train prints). A sweep (run/sweep.h, README "Sweeps")
// opens the same way: per setting, the median return over its seeds with a band from the
// lowest to the highest seed, in the setting's colour, and the summary trpo-train prints
// (run::summarizeSweep). Reads the run files once, on the UI thread.
#pragma once

#include <QTimer>
#include <QWidget>
#include <filesystem>
#include <optional>
#include <vector>

#include "run/fork.h"
#include "run/sweep.h"

class QCustomPlot;
class QLabel;
class QPushButton;
class QSpinBox;
class QTableWidget;

namespace ui {

// the variants' colours, in order: Okabe-Ito without yellow, which a projector washes out
const std::vector<QColor>& variantColors();

class ComparisonView : public QWidget {
    Q_OBJECT
public:
    explicit ComparisonView(QWidget* parent = nullptr);

    // loads the fork in dir (or its fork.json) and every variant's run; throws
    // core::FileError naming the file and leaves the view as it was
    void openFork(const std::filesystem::path& dir);
    // loads the sweep in dir (or its sweep.json) and the run of every done cell; throws
    // core::FileError naming the file and leaves the view as it was
    void openSweep(const std::filesystem::path& dir);
    // a sweep when dir holds sweep.json, otherwise a fork
    void open(const std::filesystem::path& dir);

    // A fork being trained (ui/compare/fork_session.h): every variant starts with the parent's
    // rows up to the fork iteration (`shared`, whose rolled-back iterations are
    // `sharedRolledBack`), then takes its iterations as they arrive. The plots and the table
    // are redrawn at most ten times a second; x runs to the planned last iteration.
    void beginLive(const run::ForkManifest& manifest, const std::vector<core::IterationStats>& shared,
                   const std::vector<int>& sharedRolledBack, int plannedIterations);
    void appendIteration(int variant, const core::IterationStats& stats);
    // iterations first..last of the variant were undone by the guardrail: drawn in grey
    void markRolledBack(int variant, int first, int last);
    // the line under the heading ("Training: iteration 14 of 30 …"); empty hides it
    void setStatus(const QString& text);
    // the plots and table redrawn now rather than at the next coalesced refresh (a live fork
    // that has ended shows its last iterations at once)
    void refreshNow();
    QLabel* statusLabel() const { return m_status; }
    // Stop, beside the status line: shown while a fork trains (its owner connects it)
    QPushButton* stopButton() const { return m_stop; }
    // Continue, with how many more iterations, beside the status line: shown for a fork that is
    // not training (opened from disk, stopped or done); pressing it emits continueRequested
    void setContinuable(bool on);
    QPushButton* continueButton() const { return m_continue; }
    QSpinBox* continueIterations() const { return m_continueIterations; }
    // each variant's rows as shown (the shared ones included)
    const std::vector<std::vector<core::IterationStats>>& histories() const { return m_histories; }
    // the grey graphs of rolled-back iterations, one per variant that has some, on the return plot
    int rolledBackGraphCount() const { return m_greyGraphs; }

    bool isSweep() const { return m_isSweep; }
    const run::SweepManifest& sweepManifest() const { return m_sweep; }
    const std::vector<run::SettingSummary>& sweepSummaries() const { return m_sweepSummaries; }

    const run::ForkManifest& manifest() const { return m_manifest; }
    const std::vector<run::VariantSummary>& summaries() const { return m_summaries; }
    QTableWidget* table() const { return m_table; }
    // the overlaid plots: the return (mean of the last 20 episodes) and the mean KL of each step;
    // graph 0 is the part before the fork (grey), graph 1 + i variant i from the fork on; for a
    // sweep, graphs 3i, 3i + 1, 3i + 2 are setting i's highest seed, lowest seed (filled up to
    // the highest: the band) and median
    QCustomPlot* returnPlot() const { return m_returnPlot; }
    QCustomPlot* klPlot() const { return m_klPlot; }
    QString title() const;

signals:
    // the window is closing (a live fork stops before the view goes)
    void closing();
    // Continue was pressed: train every variant `iterations` more from its checkpoint
    void continueRequested(int iterations);

protected:
    void closeEvent(QCloseEvent* event) override;
    // the type follows the window's font, also when presentation mode changes it later
    void changeEvent(QEvent* event) override;

private:
    void setupPlot(QCustomPlot* plot, const QString& title, const QString& yLabel);
    // the heading, status, plot and table type, derived from font()
    void applyFonts();
    void fill();
    void scheduleRefresh();
    // the solved line, the axes' margins and a replot, once the series are in
    void finishPlots(std::optional<double> solved);
    void fillSweep(const std::vector<std::vector<std::vector<core::IterationStats>>>& histories,
                   std::optional<double> solved);
    void setForkColumns();
    // the histories set (a fork, opened or live): no sweep, the fork's columns, plots, table
    void showFork();

    run::ForkManifest m_manifest;
    bool m_isSweep = false;
    run::SweepManifest m_sweep;
    std::vector<run::SettingSummary> m_sweepSummaries;
    std::vector<run::VariantSummary> m_summaries;
    std::vector<std::vector<core::IterationStats>> m_histories; // a fork's variants
    std::vector<std::vector<int>> m_rolledBack;                  // per variant, ascending
    std::optional<double> m_solved;
    std::optional<int> m_xEnd; // live: the planned last iteration
    int m_greyGraphs = 0;
    QTimer m_refresh;
    QLabel* m_heading = nullptr;
    QLabel* m_status = nullptr;
    QPushButton* m_stop = nullptr;
    QSpinBox* m_continueIterations = nullptr;
    QPushButton* m_continue = nullptr;
    QTableWidget* m_table = nullptr;
    QCustomPlot* m_returnPlot = nullptr;
    QCustomPlot* m_klPlot = nullptr;
};

} // namespace ui
