#include "ui/compare/comparison_view.h"

#include <QCloseEvent>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QPushButton>
#include <QSpinBox>
#include <QLabel>
#include <QTableWidget>
#include <QVBoxLayout>
#include <algorithm>
#include <cmath>
#include <functional>
#include <tuple>
#include <limits>
#include <qcustomplot.h>

#include "core/serialization.h"
#include "sim/registry.h"

namespace ui {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// three significant digits for reading; the exact value is the cell's tooltip
QString rounded(double x) { return QString::number(x, 'g', 3); }

QTableWidgetItem* cell(const QString& text, const QString& exact = {}) {
    auto* item = new QTableWidgetItem(text);
    item->setFlags(Qt::ItemIsEnabled | Qt::ItemIsSelectable);
    item->setTextAlignment(Qt::AlignRight | Qt::AlignVCenter);
    if (!exact.isEmpty()) item->setToolTip(exact);
    return item;
}

QTableWidgetItem* numberCell(std::optional<double> x) {
    if (!x) return cell("–", QObject::tr("not reached"));
    return cell(rounded(*x), QString::number(*x, 'g', 17));
}

QString keyName(const std::string& key) {
    if (key == "delta") return "δ";
    if (key == "gamma") return "γ";
    if (key == "lambda") return "λ";
    return QString::fromStdString(key);
}

} // namespace

const std::vector<QColor>& variantColors() {
    static const std::vector<QColor> colors = {QColor(0, 114, 178),  QColor(213, 94, 0),   QColor(0, 158, 115),
                                               QColor(204, 121, 167), QColor(230, 159, 0), QColor(86, 180, 233)};
    return colors;
}

ComparisonView::ComparisonView(QWidget* parent) : QWidget(parent) {
    auto* layout = new QVBoxLayout(this);
    m_heading = new QLabel(tr("No fork open"), this);
    m_heading->setObjectName("comparisonHeading");
    layout->addWidget(m_heading);
    m_status = new QLabel(this);
    m_status->setObjectName("comparisonStatus");
    m_status->setWordWrap(true);
    m_stop = new QPushButton(tr("Stop the fork"), this);
    m_stop->setObjectName("comparisonStop");
    m_stop->setToolTip(tr("Stop every variant at its last completed iteration; what they trained stays on disk"));
    m_stop->hide();
    m_continueIterations = new QSpinBox(this);
    m_continueIterations->setObjectName("comparisonContinueIterations");
    m_continueIterations->setRange(1, 1000000);
    m_continueIterations->setValue(20);
    m_continueIterations->setSuffix(tr(" more iterations"));
    m_continueIterations->setToolTip(tr("How many more iterations each variant trains when you press Continue"));
    m_continue = new QPushButton(tr("Continue"), this);
    m_continue->setObjectName("comparisonContinue");
    m_continue->setToolTip(tr("Train every variant on from its last checkpoint, side by side, into the same folders"));
    connect(m_continue, &QPushButton::clicked, this, [this] { emit continueRequested(m_continueIterations->value()); });
    setContinuable(false);
    auto* statusRow = new QHBoxLayout;
    statusRow->addWidget(m_status, 1);
    statusRow->addWidget(m_stop);
    statusRow->addWidget(m_continueIterations);
    statusRow->addWidget(m_continue);
    layout->addLayout(statusRow);
    m_refresh.setSingleShot(true);
    m_refresh.setInterval(100);
    connect(&m_refresh, &QTimer::timeout, this, &ComparisonView::fill);

    m_returnPlot = new QCustomPlot(this);
    m_klPlot = new QCustomPlot(this);
    setupPlot(m_returnPlot, tr("Return (mean of the last 20 episodes)"), tr("return"));
    setupPlot(m_klPlot, tr("Mean KL of each step taken (log scale)"), tr("KL (nats)"));
    // δ values a fork compares span orders of magnitude: on a linear axis the small ones lie flat on 0
    m_klPlot->yAxis->setScaleType(QCPAxis::stLogarithmic);
    m_klPlot->yAxis->setTicker(QSharedPointer<QCPAxisTickerLog>(new QCPAxisTickerLog));
    layout->addWidget(m_returnPlot, 3);
    layout->addWidget(m_klPlot, 2);

    m_table = new QTableWidget(0, 7, this);
    setForkColumns();
    m_table->verticalHeader()->setVisible(false);
    m_table->horizontalHeader()->setSectionResizeMode(QHeaderView::Stretch);
    m_table->setEditTriggers(QAbstractItemView::NoEditTriggers);
    m_table->setSizeAdjustPolicy(QAbstractScrollArea::AdjustToContents);
    layout->addWidget(m_table, 0);
    applyFonts();
}

void ComparisonView::changeEvent(QEvent* event) {
    QWidget::changeEvent(event);
    if (event->type() == QEvent::FontChange) applyFonts();
}

void ComparisonView::applyFonts() {
    const QFont base = font();
    QFont heading = base;
    heading.setPointSizeF(base.pointSizeF() * 1.3);
    heading.setBold(true);
    m_heading->setFont(heading);
    QFont status = base;
    status.setPointSizeF(base.pointSizeF() * 1.15);
    m_status->setFont(status);
    QFont title = base;
    title.setPointSizeF(base.pointSizeF() + 1);
    title.setBold(true);
    QFont label = base;
    label.setPointSizeF(base.pointSizeF() + 1);
    for (QCustomPlot* plot : {m_returnPlot, m_klPlot}) {
        if (auto* t = qobject_cast<QCPTextElement*>(plot->plotLayout()->element(0, 0))) t->setFont(title);
        for (QCPAxis* a : {plot->xAxis, plot->yAxis}) {
            a->setTickLabelFont(base);
            a->setLabelFont(label);
        }
        plot->legend->setFont(base);
        plot->replot(QCustomPlot::rpQueuedReplot);
    }
    // the table's cells keep the font they were made with; the first column is bold
    QFont bold = base;
    bold.setBold(true);
    for (int r = 0; r < m_table->rowCount(); ++r)
        for (int c = 0; c < m_table->columnCount(); ++c)
            if (QTableWidgetItem* item = m_table->item(r, c)) item->setFont(c == 0 ? bold : base);
}

void ComparisonView::showFork() {
    m_isSweep = false;
    m_sweep = {};
    m_sweepSummaries.clear();
    setForkColumns();
    // the colours and names are those of the return plot's legend and the table's first
    // column; a legend on the KL plot would only hide its lines
    m_klPlot->legend->setVisible(false);
    fill();
}

void ComparisonView::setForkColumns() {
    m_table->setHorizontalHeaderLabels({tr("Variant"), tr("Final return"), tr("Best return"), tr("Steps to solved"),
                                        tr("Mean KL"), tr("Rejected steps"), tr("Seconds")});
}

void ComparisonView::setupPlot(QCustomPlot* plot, const QString& title, const QString& yLabel) {
    plot->setMinimumHeight(180);
    plot->plotLayout()->insertRow(0);
    auto* heading = new QCPTextElement(plot, title); // its font: applyFonts()
    plot->plotLayout()->addElement(0, 0, heading);
    plot->xAxis->setLabel(tr("iteration"));
    plot->yAxis->setLabel(yLabel);
    plot->legend->setVisible(true);
    plot->legend->setBrush(QColor(255, 255, 255, 230));
    // bottom right: the curves of a fork rise from the left, so that corner is the emptiest
    plot->axisRect()->insetLayout()->setInsetAlignment(0, Qt::AlignRight | Qt::AlignBottom);
}

QString ComparisonView::title() const {
    if (m_isSweep) {
        QStringList axes;
        for (const run::SweepAxis& a : m_sweep.axes) {
            QStringList values;
            for (const std::string& v : a.values) values << QString::fromStdString(v);
            axes << keyName(a.key) + " = " + values.join(", ");
        }
        const int n = static_cast<int>(m_sweep.seeds.size());
        axes << (n == 1 ? tr("seed %1").arg(m_sweep.seeds[0]) : tr("%1 seeds").arg(n));
        return tr("%1 sweep: %2").arg(QString::fromStdString(m_sweep.base.env), axes.join(" × "));
    }
    if (m_manifest.variants.empty()) return tr("No fork open");
    return tr("%1 forked at iteration %2: %3 = %4")
        .arg(QString::fromStdString(m_manifest.env))
        .arg(m_manifest.forkIteration)
        .arg(keyName(m_manifest.key))
        .arg([this] {
            QStringList values;
            for (const run::ForkVariant& v : m_manifest.variants) values << QString::fromStdString(v.value);
            return values.join(", ");
        }());
}

void ComparisonView::openFork(const std::filesystem::path& dir) {
    // read everything first: a bad file leaves the view as it was
    run::ForkManifest manifest = run::readForkManifest(dir);
    std::vector<std::vector<core::IterationStats>> histories;
    std::vector<std::vector<int>> rolledBack;
    for (const run::ForkVariant& v : manifest.variants) {
        run::RunContents r = run::readRun(v.dir);
        histories.push_back(std::move(r.history));
        rolledBack.push_back(r.rolledBackIterations());
    }
    std::optional<double> solved;
    if (const auto env = sim::makeEnvironment(manifest.env)) solved = env->spec().rewardThreshold;
    m_manifest = std::move(manifest);
    m_histories = std::move(histories);
    m_rolledBack = std::move(rolledBack);
    m_solved = solved;
    m_xEnd.reset();
    showFork();
}

void ComparisonView::beginLive(const run::ForkManifest& manifest, const std::vector<core::IterationStats>& shared,
                               const std::vector<int>& sharedRolledBack, int plannedIterations) {
    m_manifest = manifest;
    m_histories.assign(manifest.variants.size(), shared);
    m_rolledBack.assign(manifest.variants.size(), sharedRolledBack);
    m_solved.reset();
    if (const auto env = sim::makeEnvironment(manifest.env)) m_solved = env->spec().rewardThreshold;
    m_xEnd = manifest.forkIteration + plannedIterations;
    showFork();
}

void ComparisonView::appendIteration(int variant, const core::IterationStats& stats) {
    if (variant < 0 || static_cast<size_t>(variant) >= m_histories.size()) return;
    m_histories[static_cast<size_t>(variant)].push_back(stats);
    scheduleRefresh();
}

void ComparisonView::markRolledBack(int variant, int first, int last) {
    if (variant < 0 || static_cast<size_t>(variant) >= m_rolledBack.size()) return;
    std::vector<int>& r = m_rolledBack[static_cast<size_t>(variant)];
    for (int i = first; i <= last; ++i) r.push_back(i);
    std::sort(r.begin(), r.end());
    r.erase(std::unique(r.begin(), r.end()), r.end());
    scheduleRefresh();
}

void ComparisonView::setStatus(const QString& text) { m_status->setText(text); }

void ComparisonView::setContinuable(bool on) {
    m_continue->setVisible(on);
    m_continueIterations->setVisible(on);
}

void ComparisonView::refreshNow() {
    if (!m_isSweep) fill();
}

void ComparisonView::closeEvent(QCloseEvent* event) {
    emit closing();
    QWidget::closeEvent(event);
}

void ComparisonView::scheduleRefresh() {
    if (!m_refresh.isActive()) m_refresh.start();
}

void ComparisonView::open(const std::filesystem::path& dir) {
    if (run::looksLikeSweep(dir))
        openSweep(dir);
    else
        openFork(dir);
}

void ComparisonView::openSweep(const std::filesystem::path& dir) {
    // read everything first: a bad file leaves the view as it was
    const std::filesystem::path root =
        std::filesystem::is_directory(dir) ? dir : dir.parent_path();
    run::SweepManifest manifest = run::readSweepManifest(dir);
    // the done cells' histories, grouped by setting in the grid's order
    std::vector<std::vector<std::vector<core::IterationStats>>> histories;
    std::vector<std::vector<std::string>> settings;
    for (const run::SweepCell& c : manifest.cells) {
        if (settings.empty() || settings.back() != c.values) {
            settings.push_back(c.values);
            histories.emplace_back();
        }
        if (c.status == run::CellStatus::Done) histories.back().push_back(run::readRun(root / c.dir).history);
    }
    std::optional<double> solved;
    if (const auto env = sim::makeEnvironment(manifest.base.env)) solved = env->spec().rewardThreshold;
    m_sweepSummaries = run::summarizeSweep(root, manifest, solved);
    m_sweep = std::move(manifest);
    m_isSweep = true;
    m_manifest = {};
    m_summaries.clear();
    fillSweep(histories, solved);
}

void ComparisonView::fillSweep(const std::vector<std::vector<std::vector<core::IterationStats>>>& histories,
                               std::optional<double> solved) {
    m_heading->setText(title());
    for (QCustomPlot* plot : {m_returnPlot, m_klPlot}) {
        plot->clearGraphs();
        plot->clearItems();
    }
    m_table->setHorizontalHeaderLabels(
        {tr("Setting"), tr("Seeds done"), tr("Final return (median)"), tr("Final return (min – max)"),
         solved ? tr("Steps to %1 (median)").arg(*solved) : tr("Steps to solved (median)"), tr("Seeds solved"),
         tr("Rejected steps")});
    // the colours and names are those of the return plot's legend and the table's first column
    m_klPlot->legend->setVisible(false);
    m_table->setRowCount(static_cast<int>(m_sweepSummaries.size()));
    for (size_t i = 0; i < m_sweepSummaries.size() && i < histories.size(); ++i) {
        const run::SettingSummary& s = m_sweepSummaries[i];
        QStringList parts;
        for (size_t a = 0; a < m_sweep.axes.size() && a < s.values.size(); ++a)
            parts << keyName(m_sweep.axes[a].key) + " = " + QString::fromStdString(s.values[a]);
        const QString name = parts.isEmpty() ? tr("seeds") : parts.join(", ");
        const QColor color = variantColors()[i % variantColors().size()];

        // the median over the seeds in the setting's colour, the band from the lowest to the
        // highest seed in a light fill of it
        const auto ret = [](const core::IterationStats& x) { return x.recentReturnMean; };
        const auto kl = [](const core::IterationStats& x) {
            return x.accepted ? std::optional<double>(x.klMean) : std::nullopt;
        };
        for (QCustomPlot* plot : {m_returnPlot, m_klPlot}) {
            const run::Band b = run::bandOf(histories[i], plot == m_returnPlot ? std::function(ret) : std::function(kl));
            const QVector<double> x(b.iteration.begin(), b.iteration.end());
            QColor light = color;
            light.setAlpha(55);
            QCPGraph* hi = plot->addGraph();
            hi->setPen(QPen(light, 1));
            hi->setData(x, QVector<double>(b.max.begin(), b.max.end()), true);
            hi->removeFromLegend();
            QCPGraph* lo = plot->addGraph();
            lo->setPen(QPen(light, 1));
            lo->setBrush(light);
            lo->setChannelFillGraph(hi);
            lo->setData(x, QVector<double>(b.min.begin(), b.min.end()), true);
            lo->removeFromLegend();
            QCPGraph* median = plot->addGraph();
            median->setName(tr("%1 (median of %2)").arg(name).arg(histories[i].size()));
            median->setPen(QPen(color, 2.5));
            median->setData(x, QVector<double>(b.median.begin(), b.median.end()), true);
        }

        const int row = static_cast<int>(i);
        auto* settingCell = new QTableWidgetItem(name);
        settingCell->setFlags(Qt::ItemIsEnabled | Qt::ItemIsSelectable);
        settingCell->setForeground(color.darker(115));
        QFont bold = settingCell->font();
        bold.setBold(true);
        settingCell->setFont(bold);
        QPixmap swatch(14, 14);
        swatch.fill(color);
        settingCell->setIcon(QIcon(swatch));
        m_table->setItem(row, 0, settingCell);
        m_table->setItem(row, 1, cell(s.failed > 0 ? tr("%1 / %2 (%3 failed)").arg(s.done).arg(s.seeds).arg(s.failed)
                                                  : tr("%1 / %2").arg(s.done).arg(s.seeds)));
        auto median = [](const std::optional<run::Spread>& x) {
            return x ? std::optional<double>(x->median) : std::nullopt;
        };
        auto range = [](const std::optional<run::Spread>& x, int digits) {
            if (!x) return cell("–", tr("no seed"));
            return cell(QString::number(x->min, 'g', digits) + " – " + QString::number(x->max, 'g', digits),
                        QString::number(x->min, 'g', 17) + " – " + QString::number(x->max, 'g', 17));
        };
        m_table->setItem(row, 2, numberCell(median(s.finalReturn)));
        m_table->setItem(row, 3, range(s.finalReturn, 3));
        m_table->setItem(row, 4, s.stepsToSolved ? cell(QString::number(s.stepsToSolved->median, 'f', 0),
                                                        QString::number(s.stepsToSolved->median, 'g', 17))
                                                 : cell("–", tr("not solved")));
        m_table->setItem(row, 5, cell(tr("%1 / %2").arg(s.reached).arg(s.done)));
        m_table->setItem(row, 6, s.rejections ? cell(QString::number(s.rejections->median) + "  (" +
                                                     QString::number(s.rejections->min) + " – " +
                                                     QString::number(s.rejections->max) + ")")
                                              : cell("–", tr("no seed")));
    }
    for (QCustomPlot* plot : {m_returnPlot, m_klPlot}) plot->rescaleAxes();
    finishPlots(solved);
}

void ComparisonView::finishPlots(std::optional<double> solved) {
    if (solved) {
        auto* line = new QCPItemStraightLine(m_returnPlot);
        line->point1->setCoords(0, *solved);
        line->point2->setCoords(1, *solved);
        line->setPen(QPen(QColor(0, 130, 60), 1.5, Qt::DotLine));
        QCPRange r = m_returnPlot->yAxis->range();
        r.expand(*solved);
        m_returnPlot->yAxis->setRange(r);
    }
    m_returnPlot->yAxis->scaleRange(1.08, m_returnPlot->yAxis->range().center());
    m_klPlot->yAxis->setRange(m_klPlot->yAxis->range().lower / 1.5, m_klPlot->yAxis->range().upper * 1.5);
    for (QCustomPlot* plot : {m_returnPlot, m_klPlot}) plot->replot();
    m_table->resizeRowsToContents();
}

void ComparisonView::fill() {
    m_refresh.stop();
    const std::vector<std::vector<core::IterationStats>>& histories = m_histories;
    const std::optional<double> solved = m_solved;
    m_heading->setText(title());
    m_summaries.clear();
    m_returnPlot->clearGraphs();
    m_klPlot->clearGraphs();
    m_returnPlot->clearItems();
    m_klPlot->clearItems();
    m_table->setRowCount(static_cast<int>(histories.size()));
    m_table->horizontalHeaderItem(3)->setText(solved ? tr("Steps to %1").arg(*solved) : tr("Steps to solved"));
    std::vector<std::tuple<QVector<double>, QVector<double>, QVector<double>>> greyLater;

    for (size_t i = 0; i < histories.size(); ++i) {
        const std::string label = m_manifest.key + "=" + m_manifest.variants[i].value;
        const QString name = keyName(m_manifest.key) + " = " + QString::fromStdString(m_manifest.variants[i].value);
        const QColor color = variantColors()[i % variantColors().size()];
        const std::vector<core::IterationStats>& h = histories[i];

        // the plots: the part up to the fork, the same in every variant, once in grey (the
        // first graph); each variant from the fork on in its colour
        // an iteration the guardrail rolled back leaves the coloured line (a gap) for the grey one
        const std::vector<int>& undone = i < m_rolledBack.size() ? m_rolledBack[i] : std::vector<int>{};
        const auto isUndone = [&undone](int iteration) {
            return std::binary_search(undone.begin(), undone.end(), iteration);
        };
        auto series = [&](bool shared) {
            QVector<double> x, ret, kl;
            for (const core::IterationStats& s : h) {
                if (shared ? s.iteration > m_manifest.forkIteration : s.iteration < m_manifest.forkIteration) continue;
                x << s.iteration;
                const bool gone = isUndone(s.iteration);
                ret << (s.recentReturnMean && !gone ? *s.recentReturnMean : kNaN);
                kl << (s.accepted && !gone ? s.klMean : kNaN);
            }
            return std::tuple{x, ret, kl};
        };
        if (!undone.empty()) {
            // the undone stretch and its neighbours in grey, the undone samples as grey dots
            QVector<double> x, ret, kl;
            for (size_t k = 0; k < h.size(); ++k) {
                const bool near = isUndone(h[k].iteration) || (k > 0 && isUndone(h[k - 1].iteration)) ||
                                  (k + 1 < h.size() && isUndone(h[k + 1].iteration));
                if (!near) continue;
                if (!x.isEmpty() && x.back() != h[k].iteration - 1 && !isUndone(h[k].iteration)) {
                    x << h[k].iteration - 0.5;
                    ret << kNaN;
                    kl << kNaN;
                }
                x << h[k].iteration;
                ret << (h[k].recentReturnMean ? *h[k].recentReturnMean : kNaN);
                kl << (h[k].accepted ? h[k].klMean : kNaN);
            }
            greyLater.push_back({x, ret, kl});
        }
        if (i == 0) {
            const auto [x, ret, kl] = series(true);
            for (QCustomPlot* plot : {m_returnPlot, m_klPlot}) {
                QCPGraph* g = plot->addGraph();
                g->setName(tr("before the fork (shared)"));
                g->setPen(QPen(QColor(120, 120, 120), 2.5));
                g->setData(x, plot == m_returnPlot ? ret : kl, true);
            }
        }
        const auto [x, ret, kl] = series(false);
        for (QCustomPlot* plot : {m_returnPlot, m_klPlot}) {
            QCPGraph* g = plot->addGraph();
            g->setName(name);
            g->setPen(QPen(color, 2.5));
            g->setData(x, plot == m_returnPlot ? ret : kl, true);
        }

        const run::VariantSummary v = run::summarize(label, h, m_manifest.forkIteration, solved);
        m_summaries.push_back(v);
        const int row = static_cast<int>(i);
        auto* variantCell = new QTableWidgetItem(name);
        variantCell->setFlags(Qt::ItemIsEnabled | Qt::ItemIsSelectable);
        variantCell->setForeground(color.darker(115));
        QFont bold = variantCell->font();
        bold.setBold(true);
        variantCell->setFont(bold);
        QPixmap swatch(14, 14);
        swatch.fill(color);
        variantCell->setIcon(QIcon(swatch));
        m_table->setItem(row, 0, variantCell);
        m_table->setItem(row, 1, numberCell(v.finalReturn));
        m_table->setItem(row, 2, numberCell(v.bestReturn));
        m_table->setItem(row, 3, v.stepsToSolved ? cell(QString::number(*v.stepsToSolved))
                                                 : cell("–", tr("not solved")));
        m_table->setItem(row, 4, numberCell(v.meanKl));
        m_table->setItem(row, 5, cell(QString::number(v.rejections)));
        m_table->setItem(row, 6, cell(QString::number(v.seconds, 'f', 2)));
    }

    // rolled-back iterations in grey (as the main plots draw them), after every variant's graph
    m_greyGraphs = 0;
    for (const auto& [x, ret, kl] : greyLater) {
        for (QCustomPlot* plot : {m_returnPlot, m_klPlot}) {
            QCPGraph* g = plot->addGraph();
            g->setName(tr("rolled back (undone)"));
            g->setPen(QPen(QColor(165, 165, 165), 2.0));
            g->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssDisc, QColor(165, 165, 165), QColor(165, 165, 165), 6));
            g->setData(x, plot == m_returnPlot ? ret : kl, true);
            if (m_greyGraphs > 0) g->removeFromLegend();
        }
        ++m_greyGraphs;
    }

    // the fork iteration, and the solved threshold on the return plot
    for (QCustomPlot* plot : {m_returnPlot, m_klPlot}) {
        plot->rescaleAxes();
        // live: x runs to the planned end, so the curves grow into a fixed frame
        if (m_xEnd) plot->xAxis->setRange(0, std::max<double>(*m_xEnd, plot->xAxis->range().upper));
        auto* fork = new QCPItemStraightLine(plot);
        // a vertical line: only x matters (y > 0 for the log axis)
        fork->point1->setCoords(m_manifest.forkIteration, 1);
        fork->point2->setCoords(m_manifest.forkIteration, 2);
        fork->setPen(QPen(QColor(90, 90, 90), 1.5, Qt::DashLine));
        auto* label = new QCPItemText(plot);
        label->setPositionAlignment(Qt::AlignLeft | Qt::AlignTop);
        label->position->setTypeX(QCPItemPosition::ptPlotCoords);
        label->position->setTypeY(QCPItemPosition::ptAxisRectRatio);
        label->position->setCoords(m_manifest.forkIteration, 0.02);
        label->setText(tr(" fork"));
        label->setColor(QColor(90, 90, 90));
    }
    // a fork of δ: each variant's bound across the KL plot in its colour, so a class sees every
    // variant's steps land just under its own δ (the line search's acceptance test)
    if (m_manifest.key == "delta") {
        QCPRange r = m_klPlot->yAxis->range();
        for (size_t i = 0; i < m_manifest.variants.size(); ++i) {
            bool ok = false;
            const double delta = QString::fromStdString(m_manifest.variants[i].value).toDouble(&ok);
            if (!ok || !(delta > 0) || !std::isfinite(delta)) continue;
            const QColor color = variantColors()[i % variantColors().size()];
            auto* bound = new QCPItemStraightLine(m_klPlot);
            bound->setObjectName("deltaLine");
            bound->point1->setCoords(0, delta);
            bound->point2->setCoords(1, delta);
            bound->setPen(QPen(color, 1.5, Qt::DashLine));
            auto* text = new QCPItemText(m_klPlot);
            text->setPositionAlignment(Qt::AlignRight | Qt::AlignBottom);
            text->position->setTypeX(QCPItemPosition::ptAxisRectRatio);
            text->position->setTypeY(QCPItemPosition::ptPlotCoords);
            text->position->setCoords(0.995, delta);
            text->setText(tr("δ = %1").arg(QString::fromStdString(m_manifest.variants[i].value)));
            text->setColor(color.darker(115));
            r.expand(delta);
            r.expand(delta * 2.5); // room for the label above the line (a log axis)
        }
        m_klPlot->yAxis->setRange(r);
    }
    finishPlots(solved);
}

} // namespace ui
