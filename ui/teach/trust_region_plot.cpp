#include "ui/teach/trust_region_plot.h"

#include <QMouseEvent>
#include <QToolTip>
#include <algorithm>
#include <cmath>

#include "ui/plot_widget.h"

namespace ui {

namespace {

// Okabe-Ito colour-blind safe palette, as the time plots use it
const QColor kBlue(0, 114, 178), kOrange(230, 159, 0), kGreen(0, 158, 115), kRed(213, 94, 0), kPurple(204, 121, 167),
    kGrey(90, 90, 90);

QString num3(double v) { return QString::number(v, 'g', 3); }
QString exact(double v) { return QString::number(v, 'g', 8); }

// a dark shade of c, for text on white
QColor ink(const QColor& c) { return c.darker(135); }

} // namespace

TrustRegionPlot::TrustRegionPlot(QWidget* parent) : QCustomPlot(parent) {
    setObjectName("inspectorPlot");
    setMouseTracking(true);
    setAntialiasedElements(QCP::aePlottables | QCP::aeItems);
    setMinimumSize(320, 240);

    // the legend in its own row above the chart, so it never hides a curve
    axisRect()->insetLayout()->take(legend);
    plotLayout()->insertRow(0);
    plotLayout()->addElement(0, 0, legend);
    plotLayout()->setRowStretchFactor(0, 0.001);
    legend->setFillOrder(QCPLegend::foColumnsFirst);
    legend->setWrap(0);
    legend->setBrush(Qt::NoBrush);
    legend->setBorderPen(Qt::NoPen);
    legend->setVisible(true);

    xAxis->setLabel(tr("α: fraction of the full step βx (α = 1 is βx)"));
    yAxis->setLabel(tr("surrogate improvement ΔL"));
    yAxis2->setLabel(tr("mean KL(π_old ‖ π)"));
    yAxis2->setVisible(true);
    yAxis2->setTickLabels(true);
    yAxis->setLabelColor(ink(kBlue));
    yAxis->setTickLabelColor(ink(kBlue));
    yAxis2->setLabelColor(ink(kOrange));
    yAxis2->setTickLabelColor(ink(kOrange));

    auto graph = [this](QCPAxis* valueAxis, const QString& name) {
        QCPGraph* g = addGraph(xAxis, valueAxis);
        g->setName(name);
        return g;
    };
    m_surrogate = graph(yAxis, tr("surrogate ΔL"));
    m_linear = graph(yAxis, tr("linear model αβ·gᵀx"));
    m_kl = graph(yAxis2, tr("mean KL"));
    m_quadratic = graph(yAxis2, tr("quadratic model ½(αβ)²·xᵀFx"));
    m_accepted = graph(yAxis2, tr("trial accepted"));
    m_rejected = graph(yAxis2, tr("trial rejected"));
    m_fan = graph(yAxis2, tr("what-if δ′"));
    for (QCPGraph* g : {m_accepted, m_rejected, m_fan}) g->setLineStyle(QCPGraph::lsNone);

    // δ: the bound on the mean KL (right axis), across the whole chart
    m_deltaLine = new QCPItemStraightLine(this);
    m_deltaLine->point1->setAxes(xAxis, yAxis2);
    m_deltaLine->point2->setAxes(xAxis, yAxis2);
    m_deltaText = new QCPItemText(this);
    m_deltaText->position->setAxes(xAxis, yAxis2);
    m_deltaText->position->setTypeX(QCPItemPosition::ptAxisRectRatio);
    m_deltaText->setPositionAlignment(Qt::AlignLeft | Qt::AlignBottom);
    m_deltaText->setColor(kGrey);
    // α = 1: the step the update scaled to the bound (the x axis's label says so)
    m_fullStepLine = new QCPItemStraightLine(this);
    m_fullStepLine->point1->setTypeY(QCPItemPosition::ptAxisRectRatio);
    m_fullStepLine->point2->setTypeY(QCPItemPosition::ptAxisRectRatio);
    m_fullStepLine->point1->setCoords(1, 0);
    m_fullStepLine->point2->setCoords(1, 1);

    m_empty = new QCPItemText(this);
    m_empty->position->setType(QCPItemPosition::ptAxisRectRatio);
    m_empty->position->setCoords(0.5, 0.5);
    m_empty->setText(tr("No probe shown yet"));
    m_empty->setColor(kGrey);
    applyStyle();
    setProbe(nullptr);
}

QString TrustRegionPlot::trialReason(const core::LineSearchTrial& t, double delta) {
    if (t.accepted) return tr("accepted");
    if (!std::isfinite(t.kl) || !std::isfinite(t.surrogate)) return tr("not finite");
    if (t.kl > delta) return tr("KL %1 > δ").arg(num3(t.kl));
    return tr("no improvement");
}

QString TrustRegionPlot::relativeDelta(double deltaPrime, double delta) {
    if (!(delta > 0)) return num3(deltaPrime);
    const double r = deltaPrime / delta;
    if (std::abs(r - 1) < 1e-9) return "δ";
    if (r < 1) return QString("δ/%1").arg(num3(1 / r));
    return QString("%1δ").arg(num3(r));
}

QString TrustRegionPlot::deltaLabel() const { return m_deltaText->text(); }

QStringList TrustRegionPlot::trialLabels() const {
    QStringList out;
    for (const QCPItemText* t : m_trialLabels) out << t->text();
    return out;
}

QPointF TrustRegionPlot::whatIfPixel(int i) const {
    const QPointF& p = m_fanPoints.at(static_cast<size_t>(i));
    return {xAxis->coordToPixel(p.x()), yAxis2->coordToPixel(p.y())};
}

void TrustRegionPlot::clearLabels() {
    for (QCPItemText* t : m_trialLabels) removeItem(t);
    for (QCPItemText* t : m_fanLabels) removeItem(t);
    m_trialLabels.clear();
    m_fanLabels.clear();
    m_fanPoints.clear();
}

void TrustRegionPlot::setProbe(const ProbePtr& p) {
    m_probe = p;
    clearLabels();
    for (QCPGraph* g : {m_surrogate, m_linear, m_kl, m_quadratic, m_accepted, m_rejected, m_fan}) g->data()->clear();
    m_empty->setVisible(!p);
    m_deltaLine->setVisible(bool(p));
    m_deltaText->setVisible(bool(p));
    if (!p) {
        xAxis->setRange(0, 1.5);
        yAxis->setRange(-1, 1);
        yAxis2->setRange(0, 0.02);
        replot(QCustomPlot::rpQueuedReplot);
        return;
    }

    // the curve and its two models
    double alphaMax = 1.0, leftLo = 0, leftHi = 0, klHi = p->delta, trialHi = 0;
    for (const core::ProbePoint& c : p->curve) {
        m_surrogate->addData(c.alpha, c.surrogateChange);
        m_linear->addData(c.alpha, c.linearModel);
        m_kl->addData(c.alpha, c.klMean);
        m_quadratic->addData(c.alpha, c.quadraticModel);
        alphaMax = std::max(alphaMax, c.alpha);
        for (double v : {c.surrogateChange, c.linearModel})
            if (std::isfinite(v)) {
                leftLo = std::min(leftLo, v);
                leftHi = std::max(leftHi, v);
            }
        for (double v : {c.klMean, c.quadraticModel})
            if (std::isfinite(v)) klHi = std::max(klHi, v);
    }
    for (const core::LineSearchTrial& t : p->trials)
        if (std::isfinite(t.kl)) trialHi = std::max(trialHi, t.kl);
    for (const core::WhatIfStep& w : p->fan)
        if (w.accepted && w.alpha <= alphaMax && std::isfinite(w.klMean)) trialHi = std::max(trialHi, w.klMean);
    // the KL axis shows δ, every trial and what-if step; where the KL explodes beyond them (a large step
    // on a saturating policy) the curve leaves the top instead of squashing δ to the floor
    klHi = std::min(klHi, std::max(2.5 * p->delta, trialHi));
    // both axes start at 0 and leave room above for the labels
    const double leftPad = std::max(1e-12, 0.1 * (leftHi - leftLo));
    xAxis->setRange(0, alphaMax * 1.02);
    yAxis->setRange(leftLo - (leftLo < 0 ? leftPad : 0), leftHi + leftPad);
    yAxis2->setRange(0, klHi * 1.12);

    // δ
    m_deltaLine->point1->setCoords(0, p->delta);
    m_deltaLine->point2->setCoords(1, p->delta);
    m_deltaText->position->setCoords(0.01, p->delta);
    m_deltaText->setText(tr("δ = %1").arg(num3(p->delta)));

    // the trials, on the KL curve; labelled: the accepted one, the first and the last rejected
    int firstRejected = -1, lastRejected = -1;
    for (size_t i = 0; i < p->trials.size(); ++i)
        if (!p->trials[i].accepted) {
            if (firstRejected < 0) firstRejected = static_cast<int>(i);
            lastRejected = static_cast<int>(i);
        }
    for (size_t i = 0; i < p->trials.size(); ++i) {
        const core::LineSearchTrial& t = p->trials[i];
        if (!std::isfinite(t.kl)) continue;
        (t.accepted ? m_accepted : m_rejected)->addData(t.fraction, t.kl);
        const int k = static_cast<int>(i);
        if (!t.accepted && k != firstRejected && k != lastRejected) continue;
        auto* label = new QCPItemText(this);
        label->position->setAxes(xAxis, yAxis2);
        label->position->setCoords(t.fraction, t.kl);
        // below right of its point: the KL curve rises to the right, so that corner is free;
        // near the right edge, above left (where the curve is lower), so the text stays inside
        if (t.fraction < 0.6 * alphaMax) {
            label->setPositionAlignment(Qt::AlignLeft | Qt::AlignTop);
            label->setPadding(QMargins(10, 6, 2, 0));
        } else {
            label->setPositionAlignment(Qt::AlignRight | Qt::AlignBottom);
            label->setPadding(QMargins(2, 0, 10, 6));
        }
        label->setText(trialReason(t, p->delta));
        label->setColor(ink(t.accepted ? kGreen : kRed));
        label->setBrush(QColor(255, 255, 255, 200));
        label->setClipToAxisRect(true);
        m_trialLabels.push_back(label);
    }

    // the δ what-if steps at (their α, their KL); those beyond the chart are named in a note
    const QCPRange xr = xAxis->range(), yr = yAxis2->range();
    QStringList beyond;
    for (const core::WhatIfStep& w : p->fan) {
        double alpha = 0, kl = 0;
        if (w.accepted) {
            alpha = w.alpha;
            kl = w.klMean;
        } else if (!w.trials.empty() && p->beta > 0) {
            alpha = w.trials.back().fraction * w.beta / p->beta;
            kl = w.trials.back().kl;
        }
        const QString name = relativeDelta(w.delta, p->delta) + (w.accepted ? QString() : tr(" rejected"));
        // δ′ = δ is the iteration's own line search, which the trials already show
        if (std::abs(w.delta - p->delta) <= 1e-12 * p->delta) {
            m_fanPoints.emplace_back(qQNaN(), qQNaN());
            continue;
        }
        if (!(alpha >= 0 && alpha <= xr.upper && kl >= 0 && kl <= yr.upper)) {
            m_fanPoints.emplace_back(qQNaN(), qQNaN());
            beyond << name;
            continue;
        }
        m_fanPoints.emplace_back(alpha, kl);
        m_fan->addData(alpha, kl);
        // above left of its point, where the rising KL curve is not
        auto* label = new QCPItemText(this);
        label->position->setAxes(xAxis, yAxis2);
        label->position->setCoords(alpha, kl);
        label->setPositionAlignment(Qt::AlignRight | Qt::AlignBottom);
        label->setPadding(QMargins(2, 0, 8, 6));
        label->setText(name);
        label->setColor(ink(kPurple));
        m_fanLabels.push_back(label);
    }
    if (!beyond.isEmpty()) {
        auto* note = new QCPItemText(this);
        note->position->setType(QCPItemPosition::ptAxisRectRatio);
        note->position->setCoords(0.99, 0.98);
        note->setPositionAlignment(Qt::AlignRight | Qt::AlignBottom);
        note->setText(tr("%1: beyond the chart (table)").arg(beyond.join(", ")));
        note->setColor(ink(kPurple));
        note->setBrush(QColor(255, 255, 255, 220));
        m_fanLabels.push_back(note);
    }
    applyStyle();
    replot(QCustomPlot::rpQueuedReplot);
}

void TrustRegionPlot::fitLegend() {
    const int wrap = legendColumns(legend, width() - 12);
    if (legend->wrap() == wrap) return;
    legend->setWrap(wrap);
    legend->setFillOrder(QCPLegend::foColumnsFirst, true);
}

void TrustRegionPlot::resizeEvent(QResizeEvent* event) {
    fitLegend();
    QCustomPlot::resizeEvent(event);
}

void TrustRegionPlot::setLarge(bool on) {
    m_large = on;
    applyStyle();
    replot(QCustomPlot::rpQueuedReplot);
}

void TrustRegionPlot::applyStyle() {
    const double w = m_large ? 3.5 : 2.2;
    const int base = m_large ? 15 : 10;
    QFont tick = font();
    tick.setPointSize(base);
    QFont label = font();
    label.setPointSize(base + 1);
    QFont note = font();
    note.setPointSize(base);
    note.setBold(true);
    for (QCPAxis* a : {xAxis, yAxis, yAxis2}) {
        a->setTickLabelFont(tick);
        a->setLabelFont(label);
    }
    legend->setFont(tick);
    legend->setIconSize(m_large ? QSize(32, 16) : QSize(22, 10));
    legend->setColumnSpacing(m_large ? 14 : 8);
    fitLegend();
    m_surrogate->setPen(QPen(kBlue, w));
    m_linear->setPen(QPen(kBlue, w * 0.7, Qt::DashLine));
    m_kl->setPen(QPen(kOrange, w));
    m_quadratic->setPen(QPen(kOrange, w * 0.7, Qt::DashLine));
    const double marker = m_large ? 18 : 12;
    m_accepted->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssDisc, kGreen, kGreen, marker));
    m_accepted->setPen(QPen(kGreen, w));
    m_rejected->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssCross, QPen(kRed, w), Qt::NoBrush, marker));
    m_rejected->setPen(QPen(kRed, w));
    m_fan->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssDiamond, QPen(ink(kPurple), 1.5), kPurple, marker));
    m_fan->setPen(QPen(kPurple, w));
    m_deltaLine->setPen(QPen(kGrey, w * 0.8, Qt::DashDotLine));
    m_deltaText->setFont(note);
    m_fullStepLine->setPen(QPen(QColor(160, 160, 160), 1, Qt::DotLine));
    m_empty->setFont(label);
    for (QCPItemText* t : m_trialLabels) t->setFont(note);
    for (QCPItemText* t : m_fanLabels) t->setFont(tick);
}

QString TrustRegionPlot::hoverText(const QPointF& pos, int* whatIf) const {
    *whatIf = -1;
    if (!m_probe) return {};
    const core::TrustRegionProbe& p = *m_probe;
    auto pixelDistance = [&](double alpha, double kl) {
        return std::hypot(xAxis->coordToPixel(alpha) - pos.x(), yAxis2->coordToPixel(kl) - pos.y());
    };
    const double reach = m_large ? 18 : 12;
    // a what-if step
    for (size_t i = 0; i < m_fanPoints.size() && i < p.fan.size(); ++i) {
        if (!(pixelDistance(m_fanPoints[i].x(), m_fanPoints[i].y()) <= reach)) continue; // NaN: not drawn
        const core::WhatIfStep& w = p.fan[i];
        *whatIf = static_cast<int>(i);
        QString s = tr("what-if δ′ = %1 (%2): β′ = %3\n").arg(exact(w.delta), relativeDelta(w.delta, p.delta), exact(w.beta));
        if (w.accepted)
            s += tr("accepted at fraction %1 of β′x (α = %2), %3 backtracks\nKL %4, ΔL %5")
                     .arg(exact(w.fraction), exact(w.alpha))
                     .arg(w.backtracks)
                     .arg(exact(w.klMean), exact(w.surrogateChange));
        else
            s += tr("rejected (%1) after %2 trials").arg(QString::fromUtf8(core::outcomeName(w.outcome))).arg(w.trials.size());
        return s + tr("\nClick: use δ = %1 from the next iteration").arg(num3(w.delta));
    }
    // a trial
    for (size_t i = 0; i < p.trials.size(); ++i) {
        const core::LineSearchTrial& t = p.trials[i];
        if (!std::isfinite(t.kl) || pixelDistance(t.fraction, t.kl) > reach) continue;
        return tr("trial %1: fraction %2, %3\nKL %4 (δ = %5)\nactual improvement %6, expected %7")
            .arg(i + 1)
            .arg(exact(t.fraction), trialReason(t, p.delta), exact(t.kl), exact(p.delta), exact(t.actualImprovement),
                 exact(t.expectedImprovement));
    }
    // the curve at the nearest α
    if (p.curve.empty() || !axisRect()->rect().contains(pos.toPoint())) return {};
    const double alpha = xAxis->pixelToCoord(pos.x());
    const auto nearest = std::min_element(p.curve.begin(), p.curve.end(), [alpha](const auto& a, const auto& b) {
        return std::abs(a.alpha - alpha) < std::abs(b.alpha - alpha);
    });
    return tr("α = %1\nΔL %2 (linear model %3)\nmean KL %4, max KL %5 (quadratic model %6)")
        .arg(exact(nearest->alpha), exact(nearest->surrogateChange), exact(nearest->linearModel), exact(nearest->klMean),
             exact(nearest->klMax), exact(nearest->quadraticModel));
}

void TrustRegionPlot::mouseMoveEvent(QMouseEvent* event) {
    QCustomPlot::mouseMoveEvent(event);
    int whatIf = -1;
    const QString text = hoverText(event->position(), &whatIf);
    setCursor(whatIf >= 0 ? Qt::PointingHandCursor : Qt::ArrowCursor);
    if (text.isEmpty())
        QToolTip::hideText();
    else
        QToolTip::showText(event->globalPosition().toPoint(), text, this);
}

void TrustRegionPlot::mouseReleaseEvent(QMouseEvent* event) {
    QCustomPlot::mouseReleaseEvent(event);
    if (event->button() != Qt::LeftButton) return;
    int whatIf = -1;
    hoverText(event->position(), &whatIf);
    if (whatIf >= 0) emit whatIfClicked(whatIf);
}

} // namespace ui
