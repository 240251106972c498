#include "ui/plot_panel.h"

#include <algorithm>
#include <QComboBox>
#include <QDir>
#include <QFileDialog>
#include <QGridLayout>
#include <QHBoxLayout>
#include <QLabel>
#include <QPushButton>
#include <QSlider>
#include <QVBoxLayout>
#include <cmath>
#include <limits>

#include "sim/registry.h"
#include "ui/run_history.h"

namespace ui {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
// Okabe-Ito colour-blind safe palette
const QColor kBlue(0, 114, 178), kOrange(230, 159, 0), kGreen(0, 158, 115), kRed(213, 94, 0),
    kSky(86, 180, 233), kPurple(204, 121, 167), kGrey(110, 110, 110);


std::optional<double> solvedThreshold(const std::string& envId) {
    std::unique_ptr<sim::SimEnvironment> env = sim::makeEnvironment(envId);
    return env ? env->spec().rewardThreshold : std::nullopt;
}

using Stats = core::IterationStats;

QString shortKey(const std::string& key) {
    static const std::map<std::string, QString> names = {
        {"delta", "δ"},           {"gamma", "γ"},           {"lambda", "λ"},
        {"cg_iters", "CG iters"}, {"cg_damping", "damping"}, {"backtrack_coeff", "backtrack"},
    };
    auto it = names.find(key);
    return it != names.end() ? it->second : QString::fromStdString(key);
}

} // namespace

void PlotPanel::onViewerFrame() {
    m_lastViewerFrame.start();
    paintSlice();
}

void PlotPanel::setMaxPace(bool on) { m_paintShare = on ? kMaxPacePaintShare : kPaintShare; }

void PlotPanel::paintSlice() {
    if (m_pendingReplots.empty()) {
        if (!m_replotDirty) {
            m_replotTimer.stop();
            return;
        }
        if (m_cycleClock.elapsed() < m_cycleIntervalMs) return;
        m_replotDirty = false;
        m_cycleClock.restart();
        m_cycleCostMs = 0;
        // the plots shown (presentation mode hides all but two; they catch up when shown)
        m_pendingReplots.clear();
        for (PlotWidget* p : m_plots)
            if (!p->isHidden()) m_pendingReplots.push_back(p);
        if (m_pendingReplots.empty()) return;
    }
    PlotWidget* p = m_pendingReplots.front();
    m_pendingReplots.erase(m_pendingReplots.begin());
    QElapsedTimer cost;
    cost.start();
    p->refreshIfStale();
    p->replot(QCustomPlot::rpImmediateRefresh);
    m_cycleCostMs += cost.nsecsElapsed() / 1e6;
    if (m_pendingReplots.empty())
        m_cycleIntervalMs = std::clamp(static_cast<qint64>(m_paintShare * m_cycleCostMs), qint64{250}, qint64{2000});
}

namespace {
// series named and read through the one IterationStats field table (core/stats.h), so a
// plot's legend says what progress.csv and history.jsonl call the same number
const core::StatsField& field(const char* key) {
    const core::StatsField* f = core::findStatsField(key);
    Q_ASSERT(f);
    return *f;
}
QString fieldTitle(const char* key) { return QString::fromUtf8(field(key).legend); }
PlotWidget::ValueFn fieldValue(const char* key, double scale = 1.0) {
    const core::StatsField* f = &field(key);
    return [f, scale](const Stats& s) {
        const std::optional<double> v = core::statsValue(s, *f);
        return v ? scale * *v : kNaN;
    };
}
} // namespace

QString PlotPanel::markerLabel(const core::ConfigEvent& e, const QString& note) {
    const QString label = QString("%1 %2 → %3").arg(shortKey(e.key), QString::fromStdString(e.from), QString::fromStdString(e.to));
    return note.isEmpty() ? label : QString("%1 (%2)").arg(label, note);
}

namespace {
// three significant digits, for reading
QString num3(double v) { return QString::number(v, 'g', 3); }

// a rejected update that tried at least one step: its trials are what there is to show
bool rejectedWithTrials(const Stats& s) { return !s.accepted && !s.trials.empty(); }

// why the last trial of a rejected update failed, in a few words
QString rejection(const Stats& s) {
    const core::LineSearchTrial& t = s.trials.back();
    switch (s.outcome) {
    case core::LineSearchOutcome::KlExceeded:
        return QObject::tr("KL %1 > δ = %2").arg(num3(t.kl), num3(s.delta));
    case core::LineSearchOutcome::NoImprovement:
        return QObject::tr("no improvement (%1)").arg(num3(t.actualImprovement));
    default:
        return QString::fromUtf8(core::outcomeName(s.outcome));
    }
}

QString rejectedTooltip(const Stats& s) {
    const core::LineSearchTrial& t = s.trials.back();
    return QObject::tr("rejected after %1 trials: %2\nlast trial: fraction %3, KL %4, actual %5, expected %6")
        .arg(s.trials.size())
        .arg(rejection(s), num3(t.fraction))
        .arg(t.kl, 0, 'g', 6)
        .arg(t.actualImprovement, 0, 'g', 6)
        .arg(t.expectedImprovement, 0, 'g', 6);
}
} // namespace

PlotPanel::PlotPanel(RunHistory* history, QWidget* parent) : QWidget(parent), m_history(history) {
    setObjectName("plotPanel");
    using S = PlotWidget::Style;

    m_return = new PlotWidget(tr("Episode return"), tr("return"));
    m_return->addSeries({fieldTitle("return_min"), kBlue, S::BandLower, false}, fieldValue("return_min"));
    m_return->addSeries({fieldTitle("return_max"), kBlue, S::BandUpper, false}, fieldValue("return_max"));
    m_return->addSeries({fieldTitle("return_mean"), kBlue, S::Line, true}, fieldValue("return_mean"));

    // the KL of the steps taken; a rejected update took none: it shows as a red cross at the
    // KL of its last trial, never as a 0 on the line
    const auto rejectedKl = [](const Stats& s) { return rejectedWithTrials(s) ? s.trialKlLast : kNaN; };
    m_kl = new PlotWidget(tr("Mean KL per update"), tr("KL"));
    m_kl->addSeries({fieldTitle("kl_mean"), kOrange, S::Line, true, false, QCPScatterStyle::ssDisc, false, true},
                    [](const Stats& s) { return s.accepted ? s.klMean : kNaN; });
    m_kl->addSeries({fieldTitle("delta"), kGrey, S::Step, false, false, QCPScatterStyle::ssNone, true}, fieldValue("delta"));
    const int klRejected = m_kl->addSeries(
        {tr("rejected (last trial)"), kRed, S::Scatter, false, false, QCPScatterStyle::ssCross},
        rejectedKl);
    m_kl->setSeriesTooltip(klRejected, rejectedTooltip);

    // the share of the trust region each step used: KL / δ, with the whole budget at 1
    m_budget = new PlotWidget(tr("KL budget used"), tr("KL / δ"));
    m_budget->addSeries({tr("KL / δ"), kOrange, S::Line, true, false, QCPScatterStyle::ssDisc, false, true},
                        [](const Stats& s) { return s.accepted && s.delta > 0 ? s.klMean / s.delta : kNaN; });
    const int budgetRejected = m_budget->addSeries(
        {tr("rejected (last trial)"), kRed, S::Scatter, false, false, QCPScatterStyle::ssCross},
        [rejectedKl](const Stats& s) { return s.delta > 0 ? rejectedKl(s) / s.delta : kNaN; });
    m_budget->setSeriesTooltip(budgetRejected, rejectedTooltip);
    m_budget->setHorizontalLine(1.0, tr("1 = all of δ"));

    m_lineSearch = new PlotWidget(tr("Line-search backtracks"), tr("backtracks"));
    m_lineSearch->addSeries({fieldTitle("backtracks"), QColor(170, 170, 170), S::Line, false}, fieldValue("backtracks"));
    m_lineSearch->addSeries({tr("accepted"), kGreen, S::Scatter, false, false, QCPScatterStyle::ssDisc},
                            [](const Stats& s) { return s.accepted ? s.backtracks : kNaN; });
    m_lineSearch->addSeries({tr("rejected"), kRed, S::Scatter, false, false, QCPScatterStyle::ssCross},
                            [](const Stats& s) { return s.accepted ? kNaN : static_cast<double>(s.backtracks); });

    // expected (linear model) against actual improvement of the steps taken; a rejected
    // update is a red cross at its last trial's actual improvement, not a 0 that never was
    m_improvement = new PlotWidget(tr("Surrogate improvement"), tr("improvement"));
    m_improvement->addSeries({fieldTitle("actual_improvement"), kBlue, S::Line, true, false, QCPScatterStyle::ssDisc, false, true},
                             [](const Stats& s) { return s.accepted ? s.actualImprovement : kNaN; });
    m_improvement->addSeries({fieldTitle("expected_improvement"), kOrange, S::Line, true, false, QCPScatterStyle::ssNone, true, true},
                             [](const Stats& s) { return s.accepted ? s.expectedImprovement : kNaN; });
    const int improvementRejected = m_improvement->addSeries(
        {tr("rejected (last trial)"), kRed, S::Scatter, false, false, QCPScatterStyle::ssCross},
        [](const Stats& s) { return rejectedWithTrials(s) ? s.trials.back().actualImprovement : kNaN; });
    m_improvement->setSeriesTooltip(improvementRejected, rejectedTooltip);

    m_entropy = new PlotWidget(tr("Entropy and policy std"), tr("entropy (nats)"));
    m_entropy->addSeries({fieldTitle("entropy"), kPurple, S::Line, true}, fieldValue("entropy"));
    m_entropy->addSeries({fieldTitle("std_mean"), kSky, S::Line, true, true},
                         [](const Stats& s) { return s.stdPerDim.empty() ? kNaN : s.stdMean; });
    m_entropy->setRightAxisLabel(tr("std"));

    // the critic: its loss, and the explained variance of the returns by the values it
    // predicted BEFORE this batch's fit (the honest, out-of-sample number). Undefined (NaN,
    // returns without variance) is a gap; the axis stays in [-1, 1] and a value below -1 is a
    // marker on the bottom edge whose tooltip gives it
    m_value = new PlotWidget(tr("Value function"), tr("value loss"));
    m_value->addSeries({fieldTitle("value_loss_after"), kRed, S::Line, true}, fieldValue("value_loss_after"));
    const int evBefore = m_value->addSeries({fieldTitle("explained_variance_before"), kGreen, S::Line, false, true},
                                            fieldValue("explained_variance_before"));
    m_value->addSeries({fieldTitle("explained_variance_after"), kSky, S::Line, false, true, QCPScatterStyle::ssNone, true,
                        false, true},
                       fieldValue("explained_variance_after"));
    const int evBelow = m_value->addSeries(
        {tr("< −1"), kGreen, S::Scatter, false, true, QCPScatterStyle::ssTriangleInverted},
        [](const Stats& s) { return s.explainedVarianceBefore < -1 ? -1.0 : kNaN; });
    const auto evTooltip = [](const Stats& s) {
        return QString::number(s.explainedVarianceBefore, 'g', 6) +
               (s.explainedVarianceBefore < -1 ? tr(" (below the axis)") : QString());
    };
    m_value->setSeriesTooltip(evBefore, evTooltip);
    m_value->setSeriesTooltip(evBelow, evTooltip);
    m_value->setRightAxisLabel(tr("explained variance"));
    m_value->setLogY(true, false);
    m_value->setValueLimits(true, -1.05, 1.05);

    m_cg = new PlotWidget(tr("CG residual, last update"), tr("|r|"), false);
    m_cg->addSeries({tr("residual"), kBlue, S::Line, false});
    m_cg->setLogY(true);
    m_cg->graph(0)->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssCircle, 5));

    // where an iteration's time goes (the phases of docs/algorithm.md), and the speed it adds up to
    m_speed = new PlotWidget(tr("Time per iteration"), tr("ms"));
    m_speed->addSeries({fieldTitle("seconds_sampling"), kBlue, S::Line, true}, fieldValue("seconds_sampling", 1e3));
    m_speed->addSeries({fieldTitle("seconds_cg"), kOrange, S::Line, true}, fieldValue("seconds_cg", 1e3));
    m_speed->addSeries({fieldTitle("seconds_value_fit"), kGreen, S::Line, true}, fieldValue("seconds_value_fit", 1e3));
    m_speed->addSeries({tr("other"), kPurple, S::Line, true}, [](const Stats& s) {
        return 1e3 * (s.secondsAdvantages + s.secondsGradient + s.secondsLineSearch);
    });
    // the trust-region inspector's cost, in the iterations it probed
    m_speed->addSeries({fieldTitle("seconds_probe"), kRed, S::Line, true},
                       [](const Stats& s) { return s.secondsProbe > 0 ? 1e3 * s.secondsProbe : kNaN; });
    m_speed->addSeries({fieldTitle("steps_per_second"), kGrey, S::Line, true, true, QCPScatterStyle::ssNone, true},
                       fieldValue("steps_per_second"));
    m_speed->setRightAxisLabel(tr("steps / s"));

    m_plots = {m_return, m_kl, m_budget, m_lineSearch, m_improvement, m_entropy, m_value, m_cg, m_speed};
    m_keys = {"return", "kl", "kl_budget", "line_search", "improvement", "entropy", "value", "cg_residual", "time"};
    m_presentationTop = m_return;
    m_presentationBottom = m_kl;
    for (PlotWidget* p : timePlots()) p->setHistory(m_history);
    for (PlotWidget* p : m_plots) connect(p, &PlotWidget::exportFailed, this, &PlotPanel::exportFailed);
    connect(m_history, &RunHistory::iterationAppended, this, &PlotPanel::onIterationAppended);
    connect(m_history, &RunHistory::configEventsAppended, this, &PlotPanel::addMarkers);
    connect(m_history, &RunHistory::reset, this, &PlotPanel::rebuild);
    connect(m_history, &RunHistory::rolledBackChanged, this, [this] {
        m_rolledBackNote->show();
        for (PlotWidget* p : timePlots()) p->markStale();
        queueReplots();
    });
    for (PlotWidget* p : timePlots()) connect(p, &PlotWidget::iterationClicked, this, &PlotPanel::iterationClicked);
    connect(m_return, &PlotWidget::iterationClicked, this,
            [this](int iteration) { emit returnClicked(iteration, m_return->clickModifiers()); });
    connect(m_history, &RunHistory::loaded, this, &PlotPanel::rebuild);

    // painting is the expensive part: one plot per 12 ms timer tick, so the viewer on the
    // same thread keeps its frame rate, and repaint cycles of all plots spaced so that
    // painting plots takes at most 1/m_paintShare of the time: every 250 ms when a cycle is
    // cheap, less often when it is not (a big window, a software X server), never less
    // often than every 2 s (the data behind each plot is updated at once, every iteration)
    m_replotTimer.setInterval(12);
    m_cycleClock.start();
    connect(&m_replotTimer, &QTimer::timeout, this, [this] {
        if (m_lastViewerFrame.isValid() && m_lastViewerFrame.elapsed() < 100) return; // frames pace it
        paintSlice();
    });

    auto* bar = new QHBoxLayout;
    bar->addWidget(new QLabel(tr("x axis:")));
    m_xAxis = new QComboBox;
    m_xAxis->setObjectName("xAxisMode");
    m_xAxis->addItem(tr("Iteration"));
    m_xAxis->addItem(tr("Environment steps"));
    m_xAxis->setToolTip(tr("Plot against the iteration number or the environment steps taken so far."));
    bar->addWidget(m_xAxis);
    bar->addSpacing(16);
    bar->addWidget(new QLabel(tr("Smoothing:")));
    m_smoothing = new QSlider(Qt::Horizontal);
    m_smoothing->setObjectName("smoothing");
    m_smoothing->setRange(0, 99);
    m_smoothing->setMaximumWidth(180);
    m_smoothing->setToolTip(tr("Exponential moving average of the noisy curves; the raw data stays faded behind."));
    bar->addWidget(m_smoothing);
    m_smoothingLabel = new QLabel("0.00");
    m_smoothingLabel->setMinimumWidth(36);
    bar->addWidget(m_smoothingLabel);
    bar->addStretch(1);
    // what the grey points are, once there are some
    m_rolledBackNote = new QLabel(tr("<span style='color:#8a8a8a'>●</span> grey: iterations undone by a rollback"));
    m_rolledBackNote->setObjectName("rolledBackNote");
    m_rolledBackNote->hide();
    bar->addWidget(m_rolledBackNote);
    bar->addSpacing(12);
    m_hint = new QLabel(tr("Hover for values · wheel/drag to zoom · double-click to follow · right-click to export"));
    m_hint->setStyleSheet("color: gray");
    bar->addWidget(m_hint);
    auto* exportButton = new QPushButton(tr("Export all…"));
    exportButton->setToolTip(tr("Write every plot as PNG and PDF into a folder."));
    bar->addWidget(exportButton);
    m_exportButton = exportButton;

    m_grid = new QGridLayout;
    m_grid->setSpacing(4);
    layoutPlots();

    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(4, 2, 4, 4);
    layout->addLayout(bar);
    layout->addLayout(m_grid, 1);

    connect(m_xAxis, &QComboBox::currentIndexChanged, this, [this](int index) {
        setXAxisMode(index == 0 ? XAxisMode::Iteration : XAxisMode::EnvSteps);
    });
    connect(m_smoothing, &QSlider::valueChanged, this, [this](int v) { setSmoothing(v / 100.0); });
    connect(exportButton, &QPushButton::clicked, this, &PlotPanel::exportAllWithDialog);
}

std::vector<PlotWidget*> PlotPanel::timePlots() const {
    std::vector<PlotWidget*> out;
    for (PlotWidget* p : m_plots)
        if (p->isTimeSeries()) out.push_back(p);
    return out;
}

void PlotPanel::onIterationAppended(const core::IterationStats& s) {
    for (PlotWidget* p : timePlots()) p->markStale();
    std::vector<double> x(s.cgResiduals.size());
    for (size_t i = 0; i < x.size(); ++i) x[i] = static_cast<double>(i);
    m_cg->setSeriesData(0, x, s.cgResiduals);
    queueReplots();
}

void PlotPanel::rebuild() {
    m_rolledBackNote->setVisible(!m_history->rolledBack().empty());
    for (PlotWidget* p : m_plots) {
        if (!p->isTimeSeries()) p->setSeriesData(0, {}, {});
        p->clearData();
    }
    const std::optional<double> solved = solvedThreshold(m_history->config().env);
    m_return->setHorizontalLine(solved, solved ? tr("solved %1").arg(*solved) : QString());
    // the plots of TRPO's own phases say why they stay empty for the other algorithms
    // (docs/algorithm.md §11): npg takes the CG step without a line search, the first-order
    // algorithms take Adam steps
    const core::Algorithm algo = m_history->config().algo;
    const QString name = QString::fromLatin1(core::algorithmName(algo));
    m_lineSearch->setNotice(algo == core::Algorithm::Trpo ? QString() : tr("No line search\nin %1").arg(name));
    m_cg->setNotice(algo == core::Algorithm::Trpo || algo == core::Algorithm::Npg
                        ? QString()
                        : tr("No conjugate gradient\nin %1 (Adam steps)").arg(name));
    addMarkers(m_history->configEvents());
    if (!m_history->isEmpty()) onIterationAppended(m_history->last());
}

void PlotPanel::queueReplots() {
    // the display data is rebuilt per plot just before it is painted (paintSlice)
    m_replotDirty = true;
    if (!m_replotTimer.isActive()) m_replotTimer.start();
}

void PlotPanel::addMarkers(const std::vector<core::ConfigEvent>& events) {
    // the change first applies in iteration e.iteration, i.e. after e.iteration - 1
    for (const core::ConfigEvent& e : events)
        for (PlotWidget* p : timePlots())
            p->addMarker(e.iteration, m_history->envStepsBefore(e.iteration), markerLabel(e, m_history->eventNote(e)));
}

void PlotPanel::layoutPlots() {
    for (PlotWidget* p : m_plots) m_grid->removeWidget(p);
    for (int i = 0; i < 8; ++i) {
        m_grid->setColumnStretch(i, 0);
        m_grid->setRowStretch(i, 0);
    }
    // presentation: the two chosen plots, one above the other; otherwise all in two rows
    const std::vector<PlotWidget*> shown =
        m_presentation ? std::vector<PlotWidget*>{m_presentationTop, m_presentationBottom} : m_plots;
    const int columns = m_presentation ? 1 : (static_cast<int>(shown.size()) + 1) / 2;
    for (PlotWidget* p : m_plots) p->setVisible(std::find(shown.begin(), shown.end(), p) != shown.end());
    for (size_t i = 0; i < shown.size(); ++i) {
        const int row = static_cast<int>(i) / columns, col = static_cast<int>(i) % columns;
        m_grid->addWidget(shown[i], row, col);
        m_grid->setColumnStretch(col, 1);
        m_grid->setRowStretch(row, 1);
    }
}

void PlotPanel::setPresentation(bool on) {
    m_presentation = on;
    m_hint->setVisible(!on);
    m_exportButton->setVisible(!on);
    for (PlotWidget* p : m_plots) p->setPresentation(on);
    layoutPlots();
    queueReplots(); // plots shown again were not painted while hidden
}

void PlotPanel::setPresentationPlots(PlotWidget* top, PlotWidget* bottom) {
    auto known = [this](PlotWidget* p) { return std::find(m_plots.begin(), m_plots.end(), p) != m_plots.end(); };
    if (!known(top) || !known(bottom) || top == bottom) return;
    if (top == m_presentationTop && bottom == m_presentationBottom) return;
    m_presentationTop = top;
    m_presentationBottom = bottom;
    if (m_presentation) layoutPlots();
    emit presentationPlotsChanged();
}

QString PlotPanel::plotKey(const PlotWidget* plot) const {
    for (size_t i = 0; i < m_plots.size(); ++i)
        if (m_plots[i] == plot) return m_keys[i];
    return {};
}

PlotWidget* PlotPanel::plotForKey(const QString& key) const {
    for (size_t i = 0; i < m_plots.size(); ++i)
        if (m_keys[i] == key) return m_plots[i];
    return nullptr;
}

void PlotPanel::setXAxisMode(XAxisMode mode) {
    const int index = mode == XAxisMode::Iteration ? 0 : 1;
    m_xMode = mode;
    if (m_xAxis->currentIndex() != index) m_xAxis->setCurrentIndex(index); // re-enters via the signal
    for (PlotWidget* p : timePlots()) p->setXAxisMode(mode);
}

void PlotPanel::setSmoothing(double weight) {
    const int v = static_cast<int>(std::lround(weight * 100));
    m_smoothingWeight = weight;
    if (m_smoothing->value() != v) m_smoothing->setValue(v);
    m_smoothingLabel->setText(QString::number(weight, 'f', 2));
    for (PlotWidget* p : timePlots()) p->setSmoothing(weight);
}

void PlotPanel::replotNow() {
    for (PlotWidget* p : m_plots) {
        p->refreshIfStale();
        p->replot(QCustomPlot::rpImmediateRefresh);
    }
}

void PlotPanel::exportAllWithDialog() {
    const QString dir = QFileDialog::getExistingDirectory(this, tr("Export all plots to"));
    if (dir.isEmpty()) return;
    if (exportAll(dir))
        emit plotsExported(dir);
    else
        emit exportFailed(dir);
}

bool PlotPanel::exportAll(const QString& dir) {
    bool ok = QDir().mkpath(dir);
    for (PlotWidget* p : m_plots) {
        QString base = p->title().toLower();
        base.replace(QRegularExpression("[^a-z0-9]+"), "_");
        ok = p->exportTo(QDir(dir).filePath(base + ".png")) && ok;
        ok = p->exportTo(QDir(dir).filePath(base + ".pdf")) && ok;
    }
    return ok;
}

} // namespace ui
