#include "ui/plot_widget.h"

#include <QContextMenuEvent>
#include <QFileDialog>
#include <QFileInfo>
#include <QMenu>
#include <QToolTip>
#include <algorithm>
#include <cmath>
#include <limits>

#include "ui/plot_display.h"
#include "ui/run_history.h"

namespace ui {

namespace {
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
const QColor kMarkerColor(120, 60, 170);
const QColor kRolledBackColor(165, 165, 165);
} // namespace

PlotWidget::PlotWidget(const QString& title, const QString& yLabel, bool timeSeries, QWidget* parent)
    : QCustomPlot(parent), m_title(title), m_timeSeries(timeSeries) {
    setObjectName("plot_" + title);
    plotLayout()->insertRow(0);
    m_titleElement = new QCPTextElement(this, title);
    plotLayout()->addElement(0, 0, m_titleElement);
    xAxis->setLabel(timeSeries ? tr("iteration") : tr("CG iteration"));
    yAxis->setLabel(yLabel);
    setInteractions(QCP::iRangeDrag | QCP::iRangeZoom);
    setNoAntialiasingOnDrag(true);
    setAntialiasedElements(QCP::aePlottables | QCP::aeItems);
    setMinimumSize(220, 160);
    setMouseTracking(true);
    // the legend sits in one row under the title, so it never hides data
    axisRect()->insetLayout()->take(legend);
    plotLayout()->insertRow(1);
    plotLayout()->addElement(1, 0, legend);
    plotLayout()->setRowStretchFactor(1, 0.001);
    legend->setFillOrder(QCPLegend::foColumnsFirst);
    legend->setBrush(Qt::NoBrush);
    legend->setBorderPen(Qt::NoPen);
    legend->setMargins(QMargins(4, 0, 4, 0));
    legend->setVisible(false);
    if (!timeSeries) {
        QSharedPointer<QCPAxisTickerFixed> ticker(new QCPAxisTickerFixed);
        ticker->setTickStep(1);
        ticker->setScaleStrategy(QCPAxisTickerFixed::ssMultiples);
        xAxis->setTicker(ticker);
    }
    setToolTip(QString());
    applyPens();
}

void PlotWidget::setHistory(const RunHistory* history) {
    m_history = history;
    for (Series& s : m_series) s.samples.clear();
    m_samplesGeneration = history ? history->generation() : 0;
    m_stale = true;
}

void PlotWidget::updateSamples() const {
    if (!m_timeSeries || !m_history) return;
    if (m_samplesGeneration != m_history->generation()) {
        for (const Series& s : m_series) s.samples.clear();
        m_samplesGeneration = m_history->generation();
    }
    const std::size_t n = static_cast<std::size_t>(m_history->size());
    for (const Series& s : m_series) {
        if (s.samples.size() > n) s.samples.clear(); // cannot happen without a new generation
        for (std::size_t i = s.samples.size(); i < n; ++i) {
            if (!s.value) {
                s.samples.push_back(kNaN);
            } else if (const core::IterationStats* r = m_history->inMemory(i)) {
                s.samples.push_back(s.value(*r));
            } else {
                s.samples.push_back(s.value(m_history->record(i)));
            }
        }
    }
}

int PlotWidget::addSeries(const SeriesSpec& spec, ValueFn value) {
    QCPAxis* valueAxis = spec.rightAxis ? yAxis2 : yAxis;
    if (spec.rightAxis) {
        yAxis2->setVisible(true);
        yAxis2->setTickLabels(true);
    }
    Series s;
    s.spec = spec;
    s.value = std::move(value);
    s.shown = !spec.optional;
    if (m_timeSeries && spec.smooth && (spec.style == Style::Line || spec.style == Style::Step)) {
        s.rawGraph = addGraph(xAxis, valueAxis);
        s.rawGraph->removeFromLegend();
        s.rawGraph->setVisible(false);
    }
    s.graph = addGraph(xAxis, valueAxis);
    s.graph->setName(spec.name);
    switch (spec.style) {
    case Style::Line:
        s.graph->setLineStyle(QCPGraph::lsLine);
        break;
    case Style::Step:
        s.graph->setLineStyle(QCPGraph::lsStepLeft);
        break;
    case Style::Scatter:
        s.graph->setLineStyle(QCPGraph::lsNone);
        break;
    case Style::BandLower:
    case Style::BandUpper:
        s.graph->setLineStyle(QCPGraph::lsLine);
        s.graph->removeFromLegend();
        break;
    }
    if (spec.style == Style::BandUpper) {
        for (auto it = m_series.rbegin(); it != m_series.rend(); ++it)
            if (it->spec.style == Style::BandLower) {
                s.graph->setChannelFillGraph(it->graph);
                break;
            }
        QColor fill = spec.color;
        fill.setAlpha(45);
        s.graph->setBrush(fill);
    }
    m_series.push_back(s);
    int named = 0;
    for (const Series& x : m_series)
        if (x.spec.style != Style::BandLower && x.spec.style != Style::BandUpper) ++named;
    legend->setVisible(named > 1);
    applyPens();
    applyVisibility();
    return static_cast<int>(m_series.size()) - 1;
}

void PlotWidget::setSeriesTooltip(int series, TooltipFn tooltip) {
    m_series.at(static_cast<size_t>(series)).tooltip = std::move(tooltip);
}

void PlotWidget::setSeriesVisible(int series, bool visible) {
    m_series.at(static_cast<size_t>(series)).shown = visible;
    applyVisibility();
    m_autoRange = true;
    refresh();
}

void PlotWidget::applyVisibility() {
    for (Series& s : m_series) {
        const bool band = s.spec.style == Style::BandLower || s.spec.style == Style::BandUpper;
        s.graph->setVisible(s.shown);
        if (!band) {
            if (s.shown)
                s.graph->addToLegend();
            else
                s.graph->removeFromLegend();
        }
        if (s.rawGraph) s.rawGraph->setVisible(s.shown && m_smoothing > 0);
        if (s.greyGraph) s.greyGraph->setVisible(s.shown);
        if (s.greyDots) s.greyDots->setVisible(s.shown);
    }
    fitLegend();
}

int legendColumns(const QCPLegend* legend, int width) {
    // the entries' widths, in order (a wrapped legend's grid has empty cells: itemCount()
    // counts those too)
    std::vector<int> widths;
    for (int i = 0; i < legend->itemCount(); ++i)
        if (const QCPAbstractLegendItem* item = legend->item(i)) widths.push_back(item->minimumOuterSizeHint().width());
    const int n = static_cast<int>(widths.size());
    // the most columns whose widest entries, side by side, fit (filled row by row)
    for (int columns = n; columns > 1; --columns) {
        int total = 0;
        for (int c = 0; c < columns; ++c) {
            int widest = 0;
            for (int i = c; i < n; i += columns) widest = std::max(widest, widths[static_cast<size_t>(i)]);
            total += widest + (c > 0 ? legend->columnSpacing() : 0);
        }
        if (total <= width) return columns == n ? 0 : columns;
    }
    return 1;
}

void PlotWidget::fitLegend() {
    // as many entries in a row as the plot's width holds, so that none is ever clipped
    const int wrap = legendColumns(legend, width() - 12);
    if (legend->wrap() == wrap) return;
    legend->setWrap(wrap);
    legend->setFillOrder(QCPLegend::foColumnsFirst, true); // re-flow the entries already there
}

void PlotWidget::resizeEvent(QResizeEvent* event) {
    fitLegend();
    QCustomPlot::resizeEvent(event);
}

void PlotWidget::setValueLimits(bool right, double lo, double hi) {
    (right ? m_limitRight : m_limitLeft) = QCPRange(lo, hi);
    refresh();
}

void PlotWidget::setRightAxisLabel(const QString& label) { yAxis2->setLabel(label); }

void PlotWidget::setLogY(bool left, bool right) {
    m_logLeft = left;
    m_logRight = right;
    auto setup = [](QCPAxis* a, bool log) {
        if (log) {
            a->setScaleType(QCPAxis::stLogarithmic);
            QSharedPointer<QCPAxisTickerLog> t(new QCPAxisTickerLog);
            a->setTicker(t);
            a->setNumberFormat("eb");
            a->setNumberPrecision(0);
            a->setRange(1e-3, 1e2);
        }
    };
    setup(yAxis, left);
    setup(yAxis2, right);
}

void PlotWidget::setHorizontalLine(std::optional<double> y, const QString& label) {
    m_hValue = y;
    if (!m_hLine) {
        m_hLine = new QCPItemStraightLine(this);
        m_hLine->setPen(QPen(QColor(0, 130, 60), 1.5, Qt::DashLine));
        m_hLineText = new QCPItemText(this);
        m_hLineText->setPositionAlignment(Qt::AlignLeft | Qt::AlignTop);
        m_hLineText->position->setTypeX(QCPItemPosition::ptAxisRectRatio);
        m_hLineText->position->setTypeY(QCPItemPosition::ptPlotCoords);
        m_hLineText->setColor(QColor(0, 110, 50));
        m_hLineText->setClipToAxisRect(true);
    }
    m_hLine->setVisible(y.has_value());
    m_hLineText->setVisible(y.has_value());
    if (y) {
        m_hLine->point1->setTypeX(QCPItemPosition::ptAxisRectRatio);
        m_hLine->point2->setTypeX(QCPItemPosition::ptAxisRectRatio);
        m_hLine->point1->setCoords(0, *y);
        m_hLine->point2->setCoords(1, *y);
        m_hLineText->position->setCoords(0.01, *y);
        m_hLineText->setText(label);
    }
    refresh();
}

int PlotWidget::sampleCount() const { return m_timeSeries && m_history ? m_history->size() : 0; }

std::vector<double> PlotWidget::rawValues(int series) const {
    const Series& s = m_series.at(static_cast<size_t>(series));
    if (!m_timeSeries) return s.values;
    if (!m_history || !s.value) return {};
    updateSamples();
    return {s.samples.begin(), s.samples.end()};
}

void PlotWidget::setSeriesData(int series, const std::vector<double>& x, const std::vector<double>& y) {
    Series& s = m_series.at(static_cast<size_t>(series));
    const bool log = s.spec.rightAxis ? m_logRight : m_logLeft;
    QVector<QCPGraphData> d;
    d.reserve(static_cast<int>(x.size()));
    for (size_t i = 0; i < x.size() && i < y.size(); ++i)
        if (std::isfinite(y[i]) && (!log || y[i] > 0)) d.push_back({x[i], y[i]});
    s.graph->data()->set(d, true);
    s.values = y;
    refresh(false);
}

void PlotWidget::addMarker(int iteration, std::int64_t envSteps, const QString& label) {
    Marker m{iteration, envSteps, label, new QCPItemStraightLine(this), new QCPItemText(this)};
    m.line->point1->setTypeY(QCPItemPosition::ptAxisRectRatio);
    m.line->point2->setTypeY(QCPItemPosition::ptAxisRectRatio);
    m.text->setText(label);
    m.text->setPositionAlignment(Qt::AlignLeft | Qt::AlignTop);
    m.text->position->setTypeY(QCPItemPosition::ptAxisRectRatio);
    m.text->setClipToAxisRect(true);
    m.text->setColor(kMarkerColor);
    m.text->setBrush(QColor(255, 255, 255, 215));
    m.text->setPadding(QMargins(3, 1, 3, 1));
    m_markers.push_back(m);
    applyPens();
    refresh();
}

void PlotWidget::clearData() {
    for (Series& s : m_series) {
        s.values.clear();
        s.graph->data()->clear();
        if (s.rawGraph) s.rawGraph->data()->clear();
        // a new run has nothing rolled back
        if (s.greyGraph) removeGraph(s.greyGraph);
        if (s.greyDots) removeGraph(s.greyDots);
        s.greyGraph = s.greyDots = nullptr;
    }
    for (Marker& m : m_markers) {
        removeItem(m.line);
        removeItem(m.text);
    }
    m_markers.clear();
    m_autoRange = true;
    refresh();
}

void PlotWidget::setXAxisMode(XAxisMode mode) {
    m_xMode = mode;
    if (m_timeSeries) xAxis->setLabel(mode == XAxisMode::Iteration ? tr("iteration") : tr("environment steps"));
    m_autoRange = true;
    refresh();
}

void PlotWidget::setSmoothing(double weight) {
    m_smoothing = std::clamp(weight, 0.0, 0.99);
    refresh();
}

void PlotWidget::setNotice(const QString& text) {
    if (!m_notice && text.isEmpty()) return; // nothing shown, nothing to remove
    if (!m_notice) {
        m_notice = new QCPItemText(this);
        m_notice->position->setType(QCPItemPosition::ptAxisRectRatio);
        m_notice->position->setCoords(0.5, 0.5);
        m_notice->setPositionAlignment(Qt::AlignCenter);
        m_notice->setTextAlignment(Qt::AlignCenter);
        m_notice->setColor(QColor(110, 110, 110));
        m_notice->setBrush(QBrush(QColor(255, 255, 255, 220)));
        m_notice->setPadding(QMargins(6, 4, 6, 4));
        m_notice->setClipToAxisRect(true);
        m_notice->setLayer("legend"); // above the grid and the data it stands for
        applyPens(); // its font
    }
    m_notice->setText(text);
    m_notice->setVisible(!text.isEmpty());
    replot(QCustomPlot::rpQueuedReplot);
}

void PlotWidget::setPresentation(bool on) {
    m_presentation = on;
    applyPens();
    replot(QCustomPlot::rpQueuedReplot);
}

void PlotWidget::applyPens() {
    const double w = m_presentation ? 3.5 : 1.6;
    const int base = m_presentation ? 14 : 9;
    QFont tick = font();
    tick.setPointSize(base);
    QFont label = font();
    label.setPointSize(base + 1);
    QFont titleFont = font();
    titleFont.setPointSize(base + 2);
    titleFont.setBold(true);
    m_titleElement->setFont(titleFont);
    for (QCPAxis* a : {xAxis, yAxis, yAxis2}) {
        a->setTickLabelFont(tick);
        a->setLabelFont(label);
        QPen p = a->basePen();
        p.setWidthF(m_presentation ? 2 : 1);
        a->setBasePen(p);
    }
    legend->setFont(tick);
    legend->setIconSize(m_presentation ? QSize(30, 16) : QSize(18, 10));
    legend->setColumnSpacing(m_presentation ? 12 : 6);
    fitLegend();
    for (Series& s : m_series) {
        QPen pen(s.spec.color, w);
        if (s.spec.dashed) pen.setStyle(Qt::DashLine);
        if (s.spec.style == Style::BandLower || s.spec.style == Style::BandUpper) {
            QColor c = s.spec.color;
            c.setAlpha(110);
            pen = QPen(c, m_presentation ? 1.5 : 0.8);
        }
        s.graph->setPen(pen);
        if (s.spec.style == Style::Scatter) {
            const double size = m_presentation ? 12 : 7;
            s.graph->setScatterStyle(QCPScatterStyle(s.spec.shape, s.spec.color, s.spec.color, size));
            QPen sp(s.spec.color, m_presentation ? 3 : 1.6);
            s.graph->setPen(sp);
        }
        if (s.rawGraph) {
            QColor faded = s.spec.color;
            faded.setAlpha(70);
            s.rawGraph->setPen(QPen(faded, m_presentation ? 2 : 1));
        }
        if (s.greyGraph) {
            QPen grey(kRolledBackColor, w);
            if (s.spec.dashed) grey.setStyle(Qt::DashLine);
            s.greyGraph->setPen(grey);
            if (s.spec.style == Style::Scatter)
                s.greyGraph->setScatterStyle(
                    QCPScatterStyle(s.spec.shape, kRolledBackColor, kRolledBackColor, m_presentation ? 12 : 7));
        }
        if (s.greyDots)
            s.greyDots->setScatterStyle(
                QCPScatterStyle(QCPScatterStyle::ssDisc, kRolledBackColor, kRolledBackColor, m_presentation ? 9 : 5));
    }
    if (m_hLine) m_hLine->setPen(QPen(QColor(0, 130, 60), m_presentation ? 3 : 1.5, Qt::DashLine));
    if (m_hLineText) m_hLineText->setFont(tick);
    if (m_notice) m_notice->setFont(tick);
    for (Marker& m : m_markers) {
        m.line->setPen(QPen(kMarkerColor, m_presentation ? 2.5 : 1.2, Qt::DashLine));
        m.text->setFont(tick);
    }
}

void PlotWidget::refresh(bool queueReplot) {
    m_stale = false;
    if (m_timeSeries) {
        updateSamples();
        const std::size_t n = m_history ? static_cast<std::size_t>(m_history->size()) : 0;
        std::vector<double> xs(n), v(n);
        for (size_t i = 0; i < n; ++i)
            xs[i] = m_xMode == XAxisMode::Iteration ? static_cast<double>(m_history->iterationNumbers()[i])
                                                    : static_cast<double>(m_history->envStepsColumn()[i]);
        QVector<QCPGraphData> d;
        for (Series& s : m_series) {
            const bool log = s.spec.rightAxis ? m_logRight : m_logLeft;
            for (size_t i = 0; i < n; ++i) {
                const double x = i < s.samples.size() ? s.samples[i] : kNaN;
                v[i] = log && !(x > 0) ? kNaN : x;
            }
            std::vector<char> undone;
            if (m_history && !m_history->rolledBack().empty()) undone = buildRolledBack(s, xs, v);
            // a line that joins its missing samples leaves them out here; a rolled-back sample
            // stays a gap (the grey graph draws that stretch)
            const std::vector<double>* sx = &xs;
            std::vector<double>* sv = &v;
            std::vector<double> jx, jv;
            if (s.spec.joinMissing) {
                for (size_t i = 0; i < v.size(); ++i)
                    if (std::isfinite(v[i]) || (!undone.empty() && undone[i])) {
                        jx.push_back(xs[i]);
                        jv.push_back(v[i]);
                    }
                sx = &jx;
                sv = &jv;
            }
            const bool dropMissing = s.spec.style == Style::Scatter;
            buildDisplay(*sx, *sv, s.spec.smooth ? m_smoothing : 0.0, dropMissing, kMaxDisplayPoints, d);
            s.graph->data()->set(d, true);
            if (s.rawGraph) {
                const bool showRaw = m_smoothing > 0 && s.shown;
                s.rawGraph->setVisible(showRaw);
                if (showRaw) {
                    buildDisplay(*sx, *sv, 0.0, false, kMaxDisplayPoints, d);
                    s.rawGraph->data()->set(d, true);
                } else {
                    s.rawGraph->data()->clear();
                }
            }
        }
    }
    placeMarkers();
    rescale();
    if (queueReplot) replot(QCustomPlot::rpQueuedReplot);
}

// the samples of rolled-back iterations leave the series' own graph (v) for its grey graphs:
// a line's grey line also holds their neighbours, so the undone stretch is drawn in grey, and
// grey dots mark the undone samples themselves. Returns which samples are undone.
std::vector<char> PlotWidget::buildRolledBack(Series& s, const std::vector<double>& xs, std::vector<double>& v) {
    const std::vector<int>& numbers = m_history->iterationNumbers();
    std::vector<char> undone(v.size());
    for (size_t i = 0; i < v.size(); ++i) undone[i] = m_history->isRolledBack(numbers[i]);
    if (s.spec.style == Style::BandLower || s.spec.style == Style::BandUpper) {
        for (size_t i = 0; i < v.size(); ++i)
            if (undone[i]) v[i] = kNaN;
        return undone;
    }
    const bool line = s.spec.style != Style::Scatter;
    // a joined line's neighbours are its nearest samples that have a value
    std::vector<double> grey(v.size(), kNaN), dots(v.size(), kNaN);
    for (size_t i = 0; i < v.size(); ++i) {
        if (!undone[i]) continue;
        grey[i] = dots[i] = v[i];
        if (!line) continue;
        for (size_t j = i; j-- > 0;)
            if (!undone[j] && (std::isfinite(v[j]) || !s.spec.joinMissing)) {
                grey[j] = v[j];
                break;
            }
        for (size_t j = i + 1; j < v.size(); ++j)
            if (!undone[j] && (std::isfinite(v[j]) || !s.spec.joinMissing)) {
                grey[j] = v[j];
                break;
            }
    }
    for (size_t i = 0; i < v.size(); ++i)
        if (undone[i]) v[i] = kNaN;
    if (!s.greyGraph) {
        s.greyGraph = addGraph(xAxis, s.graph->valueAxis());
        s.greyGraph->setName(tr("rolled back"));
        s.greyGraph->setLineStyle(line ? (s.spec.style == Style::Step ? QCPGraph::lsStepLeft : QCPGraph::lsLine)
                                       : QCPGraph::lsNone);
        s.greyGraph->removeFromLegend(); // the plot panel says once what grey means
        if (line) {
            s.greyDots = addGraph(xAxis, s.graph->valueAxis());
            s.greyDots->setLineStyle(QCPGraph::lsNone);
            s.greyDots->removeFromLegend();
        }
        applyPens();
        applyVisibility();
    }
    QVector<QCPGraphData> d;
    // a line's grey stretch joins over samples without a value, as the line itself does
    buildDisplay(xs, grey, 0.0, !line || s.spec.joinMissing, kMaxDisplayPoints, d);
    s.greyGraph->data()->set(d, true);
    if (s.greyDots) {
        buildDisplay(xs, dots, 0.0, true, kMaxDisplayPoints, d);
        s.greyDots->data()->set(d, true);
    }
    return undone;
}

void PlotWidget::placeMarkers() {
    for (size_t i = 0; i < m_markers.size(); ++i) {
        Marker& m = m_markers[i];
        const double x = m_xMode == XAxisMode::Iteration ? m.iteration : static_cast<double>(m.envSteps);
        m.line->point1->setCoords(x, 0);
        m.line->point2->setCoords(x, 1);
        m.text->position->setCoords(x, 0.02 + 0.1 * static_cast<double>(i % 4));
    }
}

void PlotWidget::rescale() {
    if (!m_autoRange) return;
    bool any = false;
    for (const Series& s : m_series)
        if (!s.graph->data()->isEmpty()) any = true;
    if (!any) {
        xAxis->setRange(0, m_timeSeries ? 10 : 15);
        return;
    }
    // the second axis only when one of its series has data to show
    bool rightData = false;
    for (const Series& s : m_series)
        if (s.spec.rightAxis)
            for (auto it = s.graph->data()->constBegin(); it != s.graph->data()->constEnd() && !rightData; ++it)
                rightData = std::isfinite(it->value);
    yAxis2->setVisible(rightData);
    for (const Series& s : m_series)
        if (s.spec.rightAxis) {
            s.graph->setVisible(rightData && s.shown);
            if (rightData && s.shown)
                s.graph->addToLegend();
            else
                s.graph->removeFromLegend();
        }
    rescaleAxes(true);
    for (QCPAxis* a : {yAxis, yAxis2}) {
        const bool log = a == yAxis ? m_logLeft : m_logRight;
        // the range of the data itself: after rescaleAxes() a flat series keeps the axis's
        // previous size, and padding that range would grow it a little on every refresh
        QCPRange r = a->range();
        bool foundAny = false;
        for (const Series& s : m_series)
            for (const QCPGraph* g : {s.graph, s.greyGraph}) {
                if (!g || g->valueAxis() != a || !g->visible()) continue;
                bool found = false;
                const QCPRange vr = g->getValueRange(found, log ? QCP::sdPositive : QCP::sdBoth);
                if (!found) continue;
                if (!foundAny) r = vr;
                else r.expand(vr);
                foundAny = true;
            }
        if (a == yAxis && m_hValue && !log) r.expand(*m_hValue);
        if (log) {
            // whole decades, so the log ticker labels powers of ten instead of crowding
            const double lo = std::pow(10.0, std::floor(std::log10(r.lower > 0 ? r.lower : 1e-12)));
            double hi = std::pow(10.0, std::ceil(std::log10(r.upper > 0 ? r.upper : 1.0)));
            if (hi <= lo) hi = lo * 10;
            a->setRange(lo, hi);
        } else {
            // a flat series (say, no backtracks at all) gets a readable range around its value
            const double centre = r.center();
            const double pad = r.size() > 1e-9 * std::max(1.0, std::abs(centre)) ? r.size() * 0.06
                                                                                  : std::max(0.5, 0.1 * std::abs(centre));
            QCPRange padded(r.lower - pad, r.upper + pad);
            if (const std::optional<QCPRange>& limit = a == yAxis ? m_limitLeft : m_limitRight) {
                padded.lower = std::clamp(padded.lower, limit->lower, limit->upper);
                padded.upper = std::clamp(padded.upper, limit->lower, limit->upper);
                if (padded.size() <= 0) padded = *limit;
            }
            a->setRange(padded);
        }
    }
    QCPRange xr = xAxis->range();
    if (m_timeSeries) {
        for (const Marker& m : m_markers)
            xr.expand(m_xMode == XAxisMode::Iteration ? m.iteration : static_cast<double>(m.envSteps));
        if (xr.size() < 1) xr.upper = xr.lower + 1;
    }
    xAxis->setRange(xr);
}

int PlotWidget::pointCount() const {
    const_cast<PlotWidget*>(this)->refreshIfStale(); // the count of what a repaint would show
    for (const Series& s : m_series)
        if (s.spec.style != Style::BandLower && s.spec.style != Style::BandUpper) return s.graph->dataCount();
    return m_series.empty() ? 0 : m_series.front().graph->dataCount();
}

void PlotWidget::mouseMoveEvent(QMouseEvent* event) {
    refreshIfStale();
    QCustomPlot::mouseMoveEvent(event);
    if (event->buttons() != Qt::NoButton) {
        m_autoRange = false;
        return;
    }
    const QPointF pos = event->position();
    double bestDist = 24.0;
    QString text;
    for (const Series& s : m_series) {
        for (QCPGraph* g : {s.graph, s.greyDots ? s.greyDots : s.greyGraph}) {
            if (!g || !g->visible() || g->data()->isEmpty()) continue;
            const double key = g->keyAxis()->pixelToCoord(pos.x());
            auto it = g->data()->findBegin(key, true);
            for (int k = 0; k < 3 && it != g->data()->constEnd(); ++k, ++it) {
                if (!std::isfinite(it->value)) continue;
                const double dx = g->keyAxis()->coordToPixel(it->key) - pos.x();
                const double dy = g->valueAxis()->coordToPixel(it->value) - pos.y();
                const double d = std::hypot(dx, dy);
                if (d < bestDist) {
                    bestDist = d;
                    QString name = s.spec.name.isEmpty() ? m_title : s.spec.name;
                    if (g == s.greyGraph) name = tr("%1 (rolled back)").arg(name);
                    const QString xName = !m_timeSeries ? tr("CG iteration")
                                          : m_xMode == XAxisMode::Iteration ? tr("iteration") : tr("steps");
                    QString value = QString::number(it->value, 'g', 5);
                    if (s.tooltip)
                        if (const std::optional<std::size_t> at = indexAt(it->key)) {
                            try {
                                value = s.tooltip(m_history->record(*at));
                            } catch (const std::exception&) {
                                // the record could not be read back: the plotted value it is
                            }
                        }
                    text = QString("%1: %2\n%3 %4").arg(name, value, xName).arg(it->key, 0, 'f', 0);
                }
            }
        }
    }
    if (text.isEmpty())
        QToolTip::hideText();
    else
        QToolTip::showText(event->globalPosition().toPoint(), text, this);
}

void PlotWidget::mousePressEvent(QMouseEvent* event) {
    // a drag stops following the data (mouseMoveEvent); a click does not
    if (event->button() == Qt::LeftButton) {
        m_pressPos = event->position();
        m_pressed = true;
    }
    QCustomPlot::mousePressEvent(event);
}

void PlotWidget::mouseReleaseEvent(QMouseEvent* event) {
    QCustomPlot::mouseReleaseEvent(event);
    if (event->button() != Qt::LeftButton || !m_pressed) return;
    m_pressed = false;
    const QPointF pos = event->position();
    // the first and the last iteration sit on the plot area's edges: a click just beside counts
    const QRect area = axisRect()->rect().adjusted(-8, 0, 8, 0);
    if (!m_timeSeries || (pos - m_pressPos).manhattanLength() > 4 || !area.contains(pos.toPoint())) return;
    refreshIfStale();
    m_clickModifiers = event->modifiers();
    if (const std::optional<int> it = iterationAt(pos.x())) emit iterationClicked(*it);
}

std::optional<std::size_t> PlotWidget::indexAt(double x) const {
    if (!m_history || m_history->isEmpty()) return std::nullopt;
    const std::vector<int>& numbers = m_history->iterationNumbers();
    const std::vector<std::int64_t>& steps = m_history->envStepsColumn();
    auto keyOf = [&](std::size_t i) {
        return m_xMode == XAxisMode::Iteration ? static_cast<double>(numbers[i]) : static_cast<double>(steps[i]);
    };
    // iterations and steps both grow along the history
    std::size_t lo = 0, hi = numbers.size();
    while (lo < hi) {
        const std::size_t mid = (lo + hi) / 2;
        if (keyOf(mid) < x)
            lo = mid + 1;
        else
            hi = mid;
    }
    std::size_t i = lo == numbers.size() ? lo - 1 : lo;
    if (i > 0 && std::abs(keyOf(i - 1) - x) < std::abs(keyOf(i) - x)) --i;
    return i;
}

std::optional<int> PlotWidget::iterationAt(double pixelX) const {
    if (!m_timeSeries) return std::nullopt;
    const double x = xAxis->pixelToCoord(pixelX);
    const std::optional<std::size_t> i = indexAt(x);
    if (!i) return std::nullopt;
    const int iteration = m_history->iterationNumbers()[*i];
    const double key = m_xMode == XAxisMode::Iteration ? static_cast<double>(iteration)
                                                       : static_cast<double>(m_history->envStepsColumn()[*i]);
    // within reach: a few pixels, or (when iterations are far apart) the nearer half
    const double pixels = std::abs(xAxis->coordToPixel(key) - pixelX);
    if (pixels > 12 && !(m_xMode == XAxisMode::Iteration && std::abs(key - x) <= 0.5)) return std::nullopt;
    return iteration;
}

void PlotWidget::mouseDoubleClickEvent(QMouseEvent* event) {
    QCustomPlot::mouseDoubleClickEvent(event);
    m_autoRange = true;
    refresh();
}

void PlotWidget::wheelEvent(QWheelEvent* event) {
    m_autoRange = false;
    QCustomPlot::wheelEvent(event);
}

void PlotWidget::contextMenuEvent(QContextMenuEvent* event) {
    QMenu menu(this);
    menu.addAction(tr("Export PNG or PDF…"), this, &PlotWidget::exportWithDialog);
    menu.addAction(tr("Follow the data (double-click)"), this, [this] {
        m_autoRange = true;
        refresh();
    });
    bool separated = false;
    for (size_t i = 0; i < m_series.size(); ++i) {
        if (!m_series[i].spec.optional) continue;
        if (!separated) menu.addSeparator();
        separated = true;
        QAction* a = menu.addAction(tr("Show %1").arg(m_series[i].spec.name));
        a->setCheckable(true);
        a->setChecked(m_series[i].shown);
        connect(a, &QAction::toggled, this, [this, i](bool on) { setSeriesVisible(static_cast<int>(i), on); });
    }
    menu.exec(event->globalPos());
}

void PlotWidget::exportWithDialog() {
    QString base = m_title;
    base.replace(QRegularExpression("[^A-Za-z0-9]+"), "_");
    const QString path = QFileDialog::getSaveFileName(this, tr("Export plot"), base.toLower() + ".png",
                                                      tr("PNG image (*.png);;PDF document (*.pdf)"));
    if (path.isEmpty()) return;
    if (!exportTo(path)) emit exportFailed(path);
}

bool PlotWidget::exportTo(const QString& path) {
    refreshIfStale();
    const int w = std::max(width(), 800), h = std::max(height(), 500);
    if (QFileInfo(path).suffix().compare("pdf", Qt::CaseInsensitive) == 0) return savePdf(path, w, h);
    return savePng(path, w, h, 2.0);
}

} // namespace ui
