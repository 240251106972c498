#include "ui/teach/phase_view.h"

#include <QHBoxLayout>
#include <QLayout>
#include <QLabel>
#include <QVBoxLayout>
#include <algorithm>
#include <cmath>
#include <numbers>
#include <qcustomplot.h>

namespace ui {

namespace {
// Okabe-Ito colours (as the plots use)
const QColor kBlue(0, 114, 178), kOrange(230, 159, 0), kGreen(0, 158, 115), kRed(213, 94, 0);

QString n3(double v) { return QString::number(v, 'g', 3); }

} // namespace

PhaseView::PhaseView(QWidget* parent) : QWidget(parent) {
    auto* lay = new QVBoxLayout(this);
    m_title = new QLabel(this);
    m_title->setObjectName("phaseTitle");
    m_equation = new QLabel(this);
    m_equation->setObjectName("phaseEquation");
    m_equation->setTextFormat(Qt::RichText);
    m_equation->setWordWrap(true);
    m_equation->setTextInteractionFlags(Qt::TextSelectableByMouse);
    m_reading = new QLabel(this);
    m_reading->setWordWrap(true);
    m_reading->setStyleSheet("color: #555; font-style: italic;");
    auto* plots = new QHBoxLayout;
    m_plot = new QCustomPlot(this);
    m_plot->setObjectName("phasePicture");
    m_plot2 = new QCustomPlot(this);
    m_plot2->setObjectName("phaseSecondPicture");
    m_plot->setMinimumHeight(160);
    m_plot2->setMinimumHeight(160);
    plots->addWidget(m_plot, 1);
    plots->addWidget(m_plot2, 1);
    lay->addWidget(m_title);
    lay->addWidget(m_equation);
    lay->addWidget(m_reading);
    lay->addLayout(plots, 1);
    setLargeText(false);
    clear(tr("Run → Step phase (F10) runs one phase of the next iteration and stops: each phase shows "
             "its equation with this iteration's numbers and a picture of what it computed."));
}

void PhaseView::setLargeText(bool large) {
    m_large = large;
    QFont f = font();
    f.setPointSizeF(f.pointSizeF() * (large ? 1.8 : 1.35));
    f.setBold(true);
    m_title->setFont(f);
    QFont e = font();
    e.setPointSizeF(e.pointSizeF() * (large ? 1.5 : 1.15));
    m_equation->setFont(e);
    for (QCustomPlot* p : {m_plot, m_plot2}) {
        QFont pf = p->font();
        pf.setPointSizeF(large ? 14 : 9);
        p->xAxis->setLabelFont(pf);
        p->yAxis->setLabelFont(pf);
        p->xAxis->setTickLabelFont(pf);
        p->yAxis->setTickLabelFont(pf);
    }
    if (m_snapshot) show(m_snapshot);
    // the dock's minimum size follows the type at once, even while it is a hidden tab (a
    // restored layout stores it)
    layout()->activate();
    updateGeometry();
}

void PhaseView::clear(const QString& hint) {
    m_snapshot.reset();
    m_title->setText(tr("Phase stepping"));
    m_equation->setText(hint);
    m_reading->clear();
    resetPlot(m_plot);
    resetPlot(m_plot2);
    m_plot->setVisible(false);
    m_plot2->setVisible(false);
}

void PhaseView::resetPlot(QCustomPlot* p) {
    p->clearGraphs();
    p->clearItems();
    p->clearPlottables();
    p->legend->setVisible(false);
    p->yAxis->setScaleType(QCPAxis::stLinear);
    p->yAxis->setTicker(QSharedPointer<QCPAxisTicker>(new QCPAxisTicker));
    p->xAxis->setLabel({});
    p->yAxis->setLabel({});
    p->xAxis->setVisible(true);
    p->yAxis->setVisible(true);
}

void PhaseView::show(const PhaseSnapshotPtr& snapshot) {
    if (!snapshot) return;
    m_snapshot = snapshot;
    const PhaseSnapshot& s = *snapshot;
    m_title->setText(tr("Iteration %1 · %2").arg(s.iteration).arg(s.title));
    m_equation->setText(s.equation);
    m_reading->setText(s.reading);
    resetPlot(m_plot);
    resetPlot(m_plot2);
    m_plot->setVisible(true);
    m_plot2->setVisible(false);
    switch (s.phase) {
        case core::Phase::Sample: drawSample(s); break;
        case core::Phase::Advantages: drawAdvantages(s); break;
        case core::Phase::SurrogateGradient: drawVectors(s, false); break;
        case core::Phase::NaturalDirection:
            drawVectors(s, true);
            drawResiduals(s);
            m_plot2->setVisible(true);
            break;
        case core::Phase::StepScale: drawStepScale(s); break;
        case core::Phase::LineSearch: drawTrials(s); break;
        case core::Phase::ValueFit: drawEpochLosses(s); break;
        case core::Phase::Report: break;
    }
    m_plot->replot();
    if (m_plot2->isVisible()) m_plot2->replot();
}

// the finished episodes' returns, one bar each
void PhaseView::drawSample(const PhaseSnapshot& s) {
    auto* bars = new QCPBars(m_plot->xAxis, m_plot->yAxis);
    QVector<double> x, y;
    for (size_t i = 0; i < s.values.size(); ++i) {
        x.push_back(static_cast<double>(i + 1));
        y.push_back(s.values[i]);
    }
    bars->setData(x, y);
    bars->setBrush(kBlue);
    bars->setPen(Qt::NoPen);
    m_plot->xAxis->setLabel(tr("episode finished in this batch"));
    m_plot->yAxis->setLabel(tr("return"));
    m_plot->rescaleAxes();
    m_plot->xAxis->setRange(0, std::max<double>(2, static_cast<double>(s.values.size()) + 1));
}

// the batch's states in two observation coordinates, coloured by advantage (7 colour bands)
void PhaseView::drawAdvantages(const PhaseSnapshot& s) {
    double mean = 0, sq = 0;
    for (double a : s.advantages) mean += a;
    mean /= std::max<size_t>(1, s.advantages.size());
    for (double a : s.advantages) sq += (a - mean) * (a - mean);
    const double sd = std::sqrt(sq / std::max<size_t>(1, s.advantages.size())) + 1e-12;
    constexpr int kBands = 7;
    std::vector<QCPGraph*> bands;
    for (int b = 0; b < kBands; ++b) {
        QCPGraph* g = m_plot->addGraph();
        const double z = (b - (kBands - 1) / 2.0) * (4.0 / (kBands - 1)); // -2 … 2 standard deviations
        g->setLineStyle(QCPGraph::lsNone);
        g->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssDisc, advantageColour(z), m_large ? 7 : 5));
        bands.push_back(g);
    }
    for (size_t i = 0; i < s.xs.size(); ++i) {
        const double z = (s.advantages[i] - mean) / sd;
        const int b = std::clamp(static_cast<int>(std::lround(z / (4.0 / (kBands - 1)) + (kBands - 1) / 2.0)), 0, kBands - 1);
        bands[static_cast<size_t>(b)]->addData(s.xs[i], s.ys[i]);
    }
    m_plot->xAxis->setLabel(s.xLabel);
    m_plot->yAxis->setLabel(s.yLabel + tr("   (orange: Â > 0, blue: Â < 0)"));
    m_plot->rescaleAxes();
}

// g (and x) as unit arrows from the origin, at the angle between them, with their lengths
void PhaseView::drawVectors(const PhaseSnapshot& s, bool withX) {
    auto arrow = [this](double angleDeg, const QColor& c, const QString& label) {
        const double a = angleDeg * std::numbers::pi / 180.0;
        auto* line = new QCPItemLine(m_plot);
        line->start->setCoords(0, 0);
        line->end->setCoords(std::cos(a), std::sin(a));
        line->setHead(QCPLineEnding::esSpikeArrow);
        line->setPen(QPen(c, m_large ? 4 : 2.5));
        auto* text = new QCPItemText(m_plot);
        // beside the tip, reading rightwards, so a narrow view never cuts the label
        text->position->setCoords(std::cos(a) + 0.04, std::sin(a) + 0.06);
        text->setPositionAlignment(Qt::AlignLeft | Qt::AlignBottom);
        text->setText(label);
        text->setColor(c);
        QFont f = m_plot->font();
        f.setPointSizeF(m_large ? 16 : 11);
        f.setBold(true);
        text->setFont(f);
    };
    arrow(0, kBlue, tr("g   |g| = %1").arg(n3(s.gradNorm)));
    if (withX) {
        arrow(s.angleDegrees, kOrange, tr("x   |x| = %1").arg(n3(s.directionNorm)));
        auto* angle = new QCPItemText(m_plot);
        angle->position->setCoords(0.35, 0.12);
        angle->setText(tr("%1°").arg(n3(s.angleDegrees)));
    }
    m_plot->xAxis->setRange(-0.1, 2.2);
    m_plot->yAxis->setRange(-0.3, 1.3);
    m_plot->xAxis->setVisible(false);
    m_plot->yAxis->setVisible(false);
}

// |r| against CG iteration, log scale
void PhaseView::drawResiduals(const PhaseSnapshot& s) {
    QCPGraph* g = m_plot2->addGraph();
    for (size_t i = 0; i < s.residuals.size(); ++i)
        if (s.residuals[i] > 0) g->addData(static_cast<double>(i), s.residuals[i]);
    g->setPen(QPen(kGreen, m_large ? 3 : 2));
    g->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssDisc, 6));
    m_plot2->yAxis->setScaleType(QCPAxis::stLogarithmic);
    m_plot2->yAxis->setTicker(QSharedPointer<QCPAxisTickerLog>(new QCPAxisTickerLog));
    m_plot2->xAxis->setLabel(tr("CG iteration"));
    m_plot2->yAxis->setLabel(tr("residual |r|"));
    m_plot2->rescaleAxes();
}

// the quadratic KL model ½(αβ)²·xᵀ(F + damping·I)x = α²δ along the step: it meets δ at α = 1
void PhaseView::drawStepScale(const PhaseSnapshot& s) {
    QCPGraph* model = m_plot->addGraph();
    for (int i = 0; i <= 30; ++i) {
        const double a = 1.5 * i / 30.0;
        model->addData(a, a * a * s.delta);
    }
    model->setPen(QPen(kBlue, m_large ? 3 : 2, Qt::DashLine));
    model->setName(tr("quadratic KL model ½(αβ)²xᵀFx"));
    QCPGraph* bound = m_plot->addGraph();
    bound->addData(0, s.delta);
    bound->addData(1.5, s.delta);
    bound->setPen(QPen(kRed, 2));
    bound->setName(tr("δ = %1").arg(n3(s.delta)));
    QCPGraph* step = m_plot->addGraph();
    step->addData(1.0, s.delta);
    step->setLineStyle(QCPGraph::lsNone);
    step->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssDisc, kOrange, 11));
    step->setName(tr("the full step βx (α = 1)"));
    m_plot->legend->setVisible(true);
    m_plot->xAxis->setLabel(tr("α (fraction of βx)"));
    m_plot->yAxis->setLabel(tr("KL (model)"));
    m_plot->rescaleAxes();
}

// each trial's KL at its fraction, accepted or rejected, against δ
void PhaseView::drawTrials(const PhaseSnapshot& s) {
    QCPGraph* rejected = m_plot->addGraph();
    rejected->setLineStyle(QCPGraph::lsNone);
    rejected->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssCross, kRed, m_large ? 16 : 11));
    rejected->setName(tr("rejected"));
    QCPGraph* accepted = m_plot->addGraph();
    accepted->setLineStyle(QCPGraph::lsNone);
    accepted->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssDisc, kGreen, m_large ? 16 : 11));
    accepted->setName(tr("accepted"));
    for (const core::LineSearchTrial& t : s.trials) (t.accepted ? accepted : rejected)->addData(t.fraction, t.kl);
    QCPGraph* bound = m_plot->addGraph();
    bound->addData(0, s.delta);
    bound->addData(1.05, s.delta);
    bound->setPen(QPen(kRed, 2));
    bound->setName(tr("δ = %1").arg(n3(s.delta)));
    m_plot->legend->setVisible(true);
    m_plot->xAxis->setLabel(tr("step fraction c^j (the line search starts at 1)"));
    m_plot->yAxis->setLabel(tr("mean KL(π_old ‖ π_trial)"));
    m_plot->rescaleAxes();
    m_plot->xAxis->setRange(0, 1.05);
    m_plot->yAxis->setRangeLower(0);
}

void PhaseView::drawEpochLosses(const PhaseSnapshot& s) {
    QCPGraph* g = m_plot->addGraph();
    for (size_t i = 0; i < s.values.size(); ++i) g->addData(static_cast<double>(i + 1), s.values[i]);
    g->setPen(QPen(QColor(204, 121, 167), m_large ? 3 : 2));
    g->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssDisc, 6));
    m_plot->xAxis->setLabel(tr("epoch"));
    m_plot->yAxis->setLabel(tr("critic loss (mean squared error)"));
    m_plot->rescaleAxes();
    if (s.values.empty()) m_reading->setText(m_reading->text() + tr(" (The linear baseline is solved in one step: no epochs.)"));
}

} // namespace ui
