// PlotWidget: one live QCustomPlot chart. Time-series plots read their samples from the run's
// RunHistory (one value function per series, x by iteration or by environment steps, each
// record evaluated once as it arrives) and build decimated, optionally EMA-smoothed display
// data from them; nothing is ever dropped. Hyperparameter changes appear as labelled vertical markers; iterations a
// rollback undid are drawn in grey. Hover shows the nearest value; a click on a time series
// names the iteration under the mouse (iterationClicked); right click exports PNG/PDF and
// shows or hides the optional series.
#pragma once

#include <QColor>
#include <QString>
#include <cstdint>
#include <deque>
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

// how many legend entries fit in a row of `width` pixels, filled row by row (0: all of them),
// for QCPLegend::setWrap
int legendColumns(const QCPLegend* legend, int width);

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
        // a missing sample (NaN) is left out and the line joins its neighbours, instead of
        // breaking there: for a value that only some iterations have (the KL of a step taken)
        bool joinMissing = false;
        // off until shown from the context menu or setSeriesVisible (and listed there)
        bool optional = false;
    };

    // a time series' sample of one iteration (NaN = missing)
    using ValueFn = std::function<double(const core::IterationStats&)>;
    // the hover text of a time series' sample (the exact value where the plot shows another)
    using TooltipFn = std::function<QString(const core::IterationStats&)>;

    // timeSeries = false: a plain chart whose data is replaced wholesale (setSeriesData)
    PlotWidget(const QString& title, const QString& yLabel, bool timeSeries = true, QWidget* parent = nullptr);

    // time series: the history the samples are read from (not owned; may be null)
    void setHistory(const RunHistory* history);
    int addSeries(const SeriesSpec& spec, ValueFn value = {});
    void setSeriesTooltip(int series, TooltipFn tooltip);
    void setSeriesVisible(int series, bool visible);
    bool isSeriesVisible(int series) const { return m_series.at(static_cast<size_t>(series)).shown; }
    // the series' graph, and the grey graph of its rolled-back samples (null until a rollback)
    QCPGraph* seriesGraph(int series) const { return m_series.at(static_cast<size_t>(series)).graph; }
    QCPGraph* rolledBackGraph(int series) const { return m_series.at(static_cast<size_t>(series)).greyGraph; }
    void setRightAxisLabel(const QString& label);
    // the automatic range of an axis never leaves [lo, hi] (data beyond it is clipped; a
    // marker series can show where)
    void setValueLimits(bool right, double lo, double hi);
    void setLogY(bool left, bool right = false);
    // a horizontal reference line (the solved threshold); nullopt removes it
    void setHorizontalLine(std::optional<double> y, const QString& label);
    // a note across the middle of the plot, for a plot the run's algorithm leaves empty (no
    // line search in ppo); an empty text removes it
    void setNotice(const QString& text);
    QString notice() const { return m_notice && m_notice->visible() ? m_notice->text() : QString(); }

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
    // the keys held at the last click (iterationClicked)
    Qt::KeyboardModifiers clickModifiers() const { return m_clickModifiers; }
    int sampleCount() const;
    int seriesCount() const { return static_cast<int>(m_series.size()); }
    // points shown by the first series' graph
    int pointCount() const;
    int markerCount() const { return static_cast<int>(m_markers.size()); }
    QString markerLabel(int i) const { return m_markers.at(static_cast<size_t>(i)).label; }
    // the horizontal reference line's value, if one is shown
    std::optional<double> horizontalLine() const { return m_hValue; }
    // every sample of a series (time series: one per iteration of the history)
    std::vector<double> rawValues(int series) const;
    // writes PNG or PDF by the file suffix; false on failure
    bool exportTo(const QString& path);
    // time series: the iteration nearest to a pixel column, if one is drawn within reach
    std::optional<int> iterationAt(double pixelX) const;

    static constexpr int kMaxDisplayPoints = 2000;

signals:
    // the right-click export could not write path
    void exportFailed(const QString& path);
    // a left click (no drag) on a time series' plot area, at this iteration
    void iterationClicked(int iteration);

protected:
    void mouseMoveEvent(QMouseEvent* event) override;
    void mouseDoubleClickEvent(QMouseEvent* event) override;
    void wheelEvent(QWheelEvent* event) override;
    void mousePressEvent(QMouseEvent* event) override;
    void mouseReleaseEvent(QMouseEvent* event) override;
    void resizeEvent(QResizeEvent* event) override;
    void contextMenuEvent(QContextMenuEvent* event) override;

private:
    struct Series {
        SeriesSpec spec;
        QCPGraph* graph = nullptr;
        QCPGraph* rawGraph = nullptr;  // faded raw data under a smoothed line
        QCPGraph* greyGraph = nullptr; // rolled-back samples (created by the first rollback)
        QCPGraph* greyDots = nullptr;  // a line's rolled-back samples as dots
        ValueFn value;                 // time series
        TooltipFn tooltip;
        std::vector<double> values;    // plain charts: the data last set
        // time series: value(record) of each history record so far, computed once per
        // record (the history keeps old records on disk; the plots keep these numbers)
        // (a deque: it grows in blocks, without a vector's spare capacity)
        mutable std::deque<double> samples;
        bool shown = true;
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
    void applyVisibility();
    void fitLegend(); // the legend's entries per row, for the plot's width
    std::vector<char> buildRolledBack(Series& s, const std::vector<double>& xs, std::vector<double>& v);
    // brings every series' samples up to the history (starting over after a reset or load)
    void updateSamples() const;
    // the index of the history entry drawn nearest to x (iteration or environment steps)
    std::optional<std::size_t> indexAt(double x) const;
    void rescale();
    void exportWithDialog();

    QString m_title;
    bool m_timeSeries;
    QCPTextElement* m_titleElement = nullptr;
    std::vector<Series> m_series;
    const RunHistory* m_history = nullptr;
    mutable std::uint64_t m_samplesGeneration = 0; // the history's generation the samples follow
    std::vector<Marker> m_markers;
    QCPItemStraightLine* m_hLine = nullptr;
    QCPItemText* m_hLineText = nullptr;
    QCPItemText* m_notice = nullptr;
    std::optional<double> m_hValue;
    XAxisMode m_xMode = XAxisMode::Iteration;
    double m_smoothing = 0;
    bool m_presentation = false;
    bool m_autoRange = true;
    bool m_stale = false; // samples appended since the display data was last rebuilt
    bool m_logLeft = false, m_logRight = false;
    std::optional<QCPRange> m_limitLeft, m_limitRight;
    QPointF m_pressPos;
    bool m_pressed = false;
    Qt::KeyboardModifiers m_clickModifiers = Qt::NoModifier;
};

} // namespace ui
