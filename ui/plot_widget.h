// PlotWidget: one live QCustomPlot chart. Time-series plots read their samples from the run's
// RunHistory (one value function per series, x by iteration or by environment steps) and
// keep only the decimated, optionally EMA-smoothed display data they build from it; nothing
// is ever dropped. Hyperparameter changes appear as labelled vertical markers. Hover shows
// the nearest value; right click exports PNG/PDF.
#pragma once

#include <QColor>
#include <QString>
#include <cstdint>
#include <functional>
#include <optional>
#include <qcustomplot.h>
#include <vector>

namespace core {
struct IterationStats;
}

namespace ui {

class RunHistory;

enum class XAxisMode { Iteration, EnvSteps };

class PlotWidget : public QCustomPlot {
    Q_OBJECT
public:
    enum class Style { Line, Step, Scatter, BandLower, BandUpper };
    struct SeriesSpec {
        QString name;
        QColor color;
        Style style = Style::Line;
        bool smooth = true;     // follows the smoothing slider
        bool rightAxis = false; // second y axis (its own scale)
        QCPScatterStyle::ScatterShape shape = QCPScatterStyle::ssDisc;
        bool dashed = false;
    };

    // a time series' sample of one iteration (NaN = missing)
    using ValueFn = std::function<double(const core::IterationStats&)>;

    // timeSeries = false: a plain chart whose data is replaced wholesale (setSeriesData)
    PlotWidget(const QString& title, const QString& yLabel, bool timeSeries = true, QWidget* parent = nullptr);

    // time series: the history the samples are read from (not owned; may be null)
    void setHistory(const RunHistory* history);
    int addSeries(const SeriesSpec& spec, ValueFn value = {});
    void setRightAxisLabel(const QString& label);
    void setLogY(bool left, bool right = false);
    // a horizontal reference line (the solved threshold); nullopt removes it
    void setHorizontalLine(std::optional<double> y, const QString& label);

    // time series: the history has grown; the display is rebuilt before the next paint
    void markStale() { m_stale = true; }
    // non-time charts: replace series data (the caller replots)
    void setSeriesData(int series, const std::vector<double>& x, const std::vector<double>& y);
    void addMarker(int iteration, std::int64_t envSteps, const QString& label);
    void clearData();

    void setXAxisMode(XAxisMode mode);
    void setSmoothing(double weight); // 0 (raw) .. 0.99
    void setPresentation(bool on);
    // rebuilds the display data and queues a replot (or leaves the replot to the caller)
    void refresh(bool queueReplot = true);
    // rebuilds the display data only if samples came since the last rebuild (the panel
    // calls it just before painting, so a fast run does not rebuild every iteration)
    void refreshIfStale() {
        if (m_stale) refresh(false);
    }

    bool isTimeSeries() const { return m_timeSeries; }
    QString title() const { return m_title; }
    int sampleCount() const;
    int seriesCount() const { return static_cast<int>(m_series.size()); }
    // points shown by the first series' graph
    int pointCount() const;
    int markerCount() const { return static_cast<int>(m_markers.size()); }
    // every sample of a series (time series: one per iteration of the history)
    std::vector<double> rawValues(int series) const;
    // writes PNG or PDF by the file suffix; false on failure
    bool exportTo(const QString& path);

    static constexpr int kMaxDisplayPoints = 2000;

signals:
    // the right-click export could not write path
    void exportFailed(const QString& path);

protected:
    void mouseMoveEvent(QMouseEvent* event) override;
    void mouseDoubleClickEvent(QMouseEvent* event) override;
    void wheelEvent(QWheelEvent* event) override;
    void mousePressEvent(QMouseEvent* event) override;
    void contextMenuEvent(QContextMenuEvent* event) override;

private:
    struct Series {
        SeriesSpec spec;
        QCPGraph* graph = nullptr;
        QCPGraph* rawGraph = nullptr; // faded raw data under a smoothed line
        ValueFn value;                // time series
        std::vector<double> values;   // plain charts: the data last set
    };
    struct Marker {
        int iteration;
        std::int64_t envSteps;
        QString label;
        QCPItemStraightLine* line;
        QCPItemText* text;
    };
    void placeMarkers();
    void applyPens();
    void rescale();
    void exportWithDialog();

    QString m_title;
    bool m_timeSeries;
    QCPTextElement* m_titleElement = nullptr;
    std::vector<Series> m_series;
    const RunHistory* m_history = nullptr;
    std::vector<Marker> m_markers;
    QCPItemStraightLine* m_hLine = nullptr;
    QCPItemText* m_hLineText = nullptr;
    std::optional<double> m_hValue;
    XAxisMode m_xMode = XAxisMode::Iteration;
    double m_smoothing = 0;
    bool m_presentation = false;
    bool m_autoRange = true;
    bool m_stale = false; // samples appended since the display data was last rebuilt
    bool m_logLeft = false, m_logRight = false;
};

} // namespace ui
