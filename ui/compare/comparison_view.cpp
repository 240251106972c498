#include "ui/compare/comparison_view.h"

#include <QHeaderView>
#include <QLabel>
#include <QTableWidget>
#include <QVBoxLayout>
#include <cmath>
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
    QFont big = m_heading->font();
    big.setPointSizeF(big.pointSizeF() * 1.3);
    big.setBold(true);
    m_heading->setFont(big);
    layout->addWidget(m_heading);

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
    m_table->setHorizontalHeaderLabels({tr("Variant"), tr("Final return"), tr("Best return"), tr("Steps to solved"),
                                        tr("Mean KL"), tr("Rejected steps"), tr("Seconds")});
    m_table->verticalHeader()->setVisible(false);
    m_table->horizontalHeader()->setSectionResizeMode(QHeaderView::Stretch);
    m_table->setEditTriggers(QAbstractItemView::NoEditTriggers);
    m_table->setSizeAdjustPolicy(QAbstractScrollArea::AdjustToContents);
    layout->addWidget(m_table, 0);
}

void ComparisonView::setupPlot(QCustomPlot* plot, const QString& title, const QString& yLabel) {
    plot->setMinimumHeight(180);
    plot->plotLayout()->insertRow(0);
    auto* heading = new QCPTextElement(plot, title, QFont(font().family(), font().pointSize() + 1, QFont::Bold));
    plot->plotLayout()->addElement(0, 0, heading);
    plot->xAxis->setLabel(tr("iteration"));
    plot->yAxis->setLabel(yLabel);
    plot->legend->setVisible(true);
    plot->legend->setBrush(QColor(255, 255, 255, 230));
    plot->axisRect()->insetLayout()->setInsetAlignment(0, Qt::AlignLeft | Qt::AlignTop);
}

QString ComparisonView::title() const {
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
    for (const run::ForkVariant& v : manifest.variants) histories.push_back(run::readRun(v.dir).history);
    std::optional<double> solved;
    if (const auto env = sim::makeEnvironment(manifest.env)) solved = env->spec().rewardThreshold;
    m_manifest = std::move(manifest);
    fill(histories, solved);
}

void ComparisonView::fill(const std::vector<std::vector<core::IterationStats>>& histories,
                          std::optional<double> solved) {
    m_heading->setText(title());
    m_summaries.clear();
    m_returnPlot->clearGraphs();
    m_klPlot->clearGraphs();
    m_returnPlot->clearItems();
    m_klPlot->clearItems();
    m_table->setRowCount(static_cast<int>(histories.size()));
    m_table->horizontalHeaderItem(3)->setText(solved ? tr("Steps to %1").arg(*solved) : tr("Steps to solved"));

    for (size_t i = 0; i < histories.size(); ++i) {
        const std::string label = m_manifest.key + "=" + m_manifest.variants[i].value;
        const QString name = keyName(m_manifest.key) + " = " + QString::fromStdString(m_manifest.variants[i].value);
        const QColor color = variantColors()[i % variantColors().size()];
        const std::vector<core::IterationStats>& h = histories[i];

        // the plots: the part up to the fork, the same in every variant, once in grey (the
        // first graph); each variant from the fork on in its colour
        auto series = [&](bool shared) {
            QVector<double> x, ret, kl;
            for (const core::IterationStats& s : h) {
                if (shared ? s.iteration > m_manifest.forkIteration : s.iteration < m_manifest.forkIteration) continue;
                x << s.iteration;
                ret << (s.recentReturnMean ? *s.recentReturnMean : kNaN);
                kl << (s.accepted ? s.klMean : kNaN);
            }
            return std::tuple{x, ret, kl};
        };
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

    // the fork iteration, and the solved threshold on the return plot
    for (QCustomPlot* plot : {m_returnPlot, m_klPlot}) {
        plot->rescaleAxes();
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

} // namespace ui
