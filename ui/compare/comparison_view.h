// ComparisonView: a fork (run/fork.h, README "Forks") as one comparison. Every plot overlays
// the variants, one series each in the Okabe-Ito colour-blind-safe palette with a legend, the
// fork iteration marked; the table lists each variant's final and best return, steps to the
// environment's solved threshold, mean KL of the steps taken and line-search rejections
// (run::summarize, the numbers trpo-train prints). Reads the run files once, on the UI thread.
#pragma once

#include <QWidget>
#include <filesystem>
#include <optional>
#include <vector>

#include "run/fork.h"

class QCustomPlot;
class QLabel;
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

    const run::ForkManifest& manifest() const { return m_manifest; }
    const std::vector<run::VariantSummary>& summaries() const { return m_summaries; }
    QTableWidget* table() const { return m_table; }
    // the overlaid plots: the return (mean of the last 20 episodes) and the mean KL of each step;
    // graph 0 is the part before the fork (grey), graph 1 + i variant i from the fork on
    QCustomPlot* returnPlot() const { return m_returnPlot; }
    QCustomPlot* klPlot() const { return m_klPlot; }
    QString title() const;

private:
    void setupPlot(QCustomPlot* plot, const QString& title, const QString& yLabel);
    void fill(const std::vector<std::vector<core::IterationStats>>& histories, std::optional<double> solved);

    run::ForkManifest m_manifest;
    std::vector<run::VariantSummary> m_summaries;
    QLabel* m_heading = nullptr;
    QTableWidget* m_table = nullptr;
    QCustomPlot* m_returnPlot = nullptr;
    QCustomPlot* m_klPlot = nullptr;
};

} // namespace ui
