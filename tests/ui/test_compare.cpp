// A fork as one comparison (offscreen): a fork made by the real trpo-train opens in the
// comparison view with one series per variant in every plot (legend, distinct colours) and a
// table whose numbers equal those computed here from each variant's progress.csv; the main
// window's Open fork shows it in a window of its own and refuses a folder without a fork. A
// sweep made by trpo-train --sweep opens the same way: per setting a median line over its
// seeds with a min–max band, and the summary table.
#include <QDir>
#include <QFile>
#include <QLabel>
#include <QProcess>
#include <QTableWidget>
#include <QTemporaryDir>
#include <QtTest>
#include <cmath>
#include <qcustomplot.h>
#include <set>

#include "ui/compare/comparison_view.h"
#include "ui/main_window.h"

namespace {

struct Csv {
    QStringList header;
    std::vector<QStringList> rows;
    double at(size_t row, const QString& column) const { return rows[row][header.indexOf(column)].toDouble(); }
    QString text(size_t row, const QString& column) const { return rows[row][header.indexOf(column)]; }
};
Csv readCsv(const QString& path) {
    Csv c;
    QFile f(path);
    if (!f.open(QIODevice::ReadOnly)) return c;
    const QStringList lines = QString::fromUtf8(f.readAll()).split('\n', Qt::SkipEmptyParts);
    c.header = lines.value(0).split(',');
    for (int i = 1; i < lines.size(); ++i) c.rows.push_back(lines[i].split(','));
    return c;
}

bool trainRun(const QStringList& args) {
    QProcess p;
    p.start(TRPO_TRAIN_EXE, args);
    return p.waitForFinished(60000) && p.exitStatus() == QProcess::NormalExit && p.exitCode() == 0;
}

// the exact value behind a table cell (its tooltip), NaN for a cell without one
double exact(const QTableWidget* t, int row, int column) {
    bool ok = false;
    const double v = t->item(row, column)->toolTip().toDouble(&ok);
    return ok ? v : std::nan("");
}

bool close(double a, double b) { return std::abs(a - b) <= 1e-8 * std::max(1.0, std::abs(b)); }

const QStringList kValues{"0.005", "0.05", "1"};
constexpr int kForkAt = 2, kMore = 3;

} // namespace

class TestCompare : public QObject {
    Q_OBJECT
    QTemporaryDir m_tmp;
    QString m_fork, m_sweep;

private slots:
    void initTestCase() {
        QVERIFY(m_tmp.isValid());
        const QString parent = m_tmp.path() + "/parent";
        m_fork = m_tmp.path() + "/fork";
        QVERIFY(trainRun({"--env", "CartPole-v1", "--seed", "5", "--steps-per-iteration", "512", "--iterations", "4",
                          "--quiet", "--out", parent}));
        QVERIFY(trainRun({"--fork", parent, "--at", QString::number(kForkAt), "--vary", "delta=" + kValues.join(','),
                          "--iterations", QString::number(kMore), "--quiet", "--out", m_fork}));
        m_sweep = m_tmp.path() + "/sweep";
        QVERIFY(trainRun({"--env", "CartPole-v1", "--steps-per-iteration", "512", "--sweep", "delta=0.005,0.05",
                          "--seeds", "1-2", "--iterations", "3", "--threads", "2", "--quiet", "--out", m_sweep}));
    }

    void openSweepFromTheMainWindow() {
        ui::StudioOptions o;
        o.env = "CartPole-v1";
        o.useSettings = false;
        o.autosave = false;
        o.runDirBase.clear();
        ui::MainWindow w(o);
        QStringList errors;
        w.setMessageHook([&](const QString&, const QString& text) { errors << text; });
        ui::ComparisonView* view = w.openComparison(m_sweep);
        QVERIFY(view);
        QVERIFY(QTest::qWaitForWindowExposed(view));
        QVERIFY(errors.isEmpty());
        QVERIFY(view->isSweep());
        QVERIFY2(view->title().contains("δ = 0.005, 0.05") && view->title().contains("2 seeds"),
                 qPrintable(view->title()));
        QCustomPlot* plot = view->returnPlot();
        // per setting: the highest seed, the lowest (filled up to it) and the median, which
        // alone is in the legend
        QCOMPARE(plot->graphCount(), 6);
        QCOMPARE(plot->legend->itemCount(), 2);
        QVERIFY(!view->klPlot()->legend->visible()); // the same names and colours as the return plot's
        const QTableWidget* t = view->table();
        QCOMPARE(t->rowCount(), 2);
        QCOMPARE(t->horizontalHeaderItem(4)->text(), QString("Steps to 475 (median)"));
        const QStringList deltas{"0.005", "0.05"};
        for (int i = 0; i < 2; ++i) {
            const Csv a = readCsv(m_sweep + "/delta-" + deltas[i] + "_seed-1/progress.csv");
            const Csv b = readCsv(m_sweep + "/delta-" + deltas[i] + "_seed-2/progress.csv");
            QCOMPARE(static_cast<int>(a.rows.size()), 3);
            const double ra = a.at(2, "recent_return_mean"), rb = b.at(2, "recent_return_mean");
            QCPGraph* hi = plot->graph(3 * i);
            QCPGraph* lo = plot->graph(3 * i + 1);
            QCPGraph* median = plot->graph(3 * i + 2);
            QCOMPARE(lo->channelFillGraph(), hi);
            QVERIFY(median->name().startsWith("δ = " + deltas[i]));
            QCOMPARE(median->data()->size(), 3);
            QVERIFY(close((median->data()->end() - 1)->value, 0.5 * (ra + rb)));
            QVERIFY(close((lo->data()->end() - 1)->value, std::min(ra, rb)));
            QVERIFY(close((hi->data()->end() - 1)->value, std::max(ra, rb)));
            QVERIFY(t->item(i, 0)->text().startsWith("δ = " + deltas[i]));
            QCOMPARE(t->item(i, 1)->text(), QString("2 / 2"));
            QVERIFY(close(exact(t, i, 2), 0.5 * (ra + rb)));
        }
        // the same view opens a fork again with the fork's columns
        view->open(m_fork.toStdString());
        QVERIFY(!view->isSweep());
        QCOMPARE(t->horizontalHeaderItem(0)->text(), QString("Variant"));
        QCOMPARE(view->returnPlot()->graphCount(), 1 + kValues.size());
        QVERIFY(!view->klPlot()->legend->visible()); // as for a sweep: the return plot's names
    }

    void plotsOverlayTheVariants() {
        ui::ComparisonView view;
        view.openFork(m_fork.toStdString());
        view.resize(1100, 800);
        view.show();
        QVERIFY(QTest::qWaitForWindowExposed(&view));
        QVERIFY2(view.title().contains("iteration 2") && view.title().contains("δ"), qPrintable(view.title()));
        for (QCustomPlot* plot : {view.returnPlot(), view.klPlot()}) {
            // the shared part before the fork, then one series per variant
            QCOMPARE(plot->graphCount(), 1 + kValues.size());
            // the names and colours once, on the return plot (the KL plot's lines stay clear)
            QCOMPARE(plot->legend->visible(), plot == view.returnPlot());
            QCOMPARE(plot->legend->itemCount(), 1 + kValues.size());
            QCOMPARE(plot->graph(0)->data()->size(), kForkAt);
            std::set<QRgb> colours{plot->graph(0)->pen().color().rgb()};
            for (int i = 0; i < kValues.size(); ++i) {
                QCPGraph* g = plot->graph(1 + i);
                QVERIFY(g->name().endsWith("= " + kValues[i]));
                colours.insert(g->pen().color().rgb());
                // the variant's own iterations, from the fork point on
                QCOMPARE(g->data()->size(), kMore + 1);
                QCOMPARE(g->data()->begin()->key, double(kForkAt));
            }
            QCOMPARE(static_cast<int>(colours.size()), 1 + kValues.size());
        }
        // a fork of δ: each variant's δ across the KL plot, dashed, in the variant's colour,
        // inside the plot's range
        std::vector<double> bounds;
        for (int k = 0; k < view.klPlot()->itemCount(); ++k) {
            auto* line = qobject_cast<QCPItemStraightLine*>(view.klPlot()->item(k));
            if (!line || line->objectName() != "deltaLine") continue;
            const double y = line->point1->coords().y();
            QCOMPARE(line->point2->coords().y(), y);
            const int i = static_cast<int>(bounds.size());
            QCOMPARE(y, kValues[i].toDouble());
            QCOMPARE(line->pen().color(), view.klPlot()->graph(1 + i)->pen().color());
            QCOMPARE(line->pen().style(), Qt::DashLine);
            QVERIFY(view.klPlot()->yAxis->range().contains(y));
            bounds.push_back(y);
        }
        QCOMPARE(static_cast<int>(bounds.size()), kValues.size());
    }

    void tableMatchesTheRunFiles() {
        ui::ComparisonView view;
        view.openFork(m_fork.toStdString());
        const QTableWidget* t = view.table();
        QCOMPARE(t->rowCount(), kValues.size());
        QCOMPARE(t->horizontalHeaderItem(3)->text(), QString("Steps to 475"));
        for (int r = 0; r < kValues.size(); ++r) {
            QVERIFY(t->item(r, 0)->text().endsWith("= " + kValues[r]));
            const Csv csv = readCsv(m_fork + "/delta-" + kValues[r] + "/progress.csv");
            QCOMPARE(static_cast<int>(csv.rows.size()), kForkAt + kMore);
            // after the fork: final and best last-20 return, mean KL of the accepted steps, rejections
            double best = -INFINITY, klSum = 0;
            int klCount = 0, rejected = 0;
            for (size_t i = kForkAt; i < csv.rows.size(); ++i) {
                best = std::max(best, csv.at(i, "recent_return_mean"));
                if (csv.text(i, "accepted") == "1") {
                    klSum += csv.at(i, "kl_mean");
                    ++klCount;
                } else {
                    ++rejected;
                }
            }
            QVERIFY2(close(exact(t, r, 1), csv.at(csv.rows.size() - 1, "recent_return_mean")),
                     qPrintable(t->item(r, 1)->toolTip()));
            QVERIFY(close(exact(t, r, 2), best));
            if (klCount > 0) QVERIFY(close(exact(t, r, 4), klSum / klCount));
            QCOMPARE(t->item(r, 5)->text(), QString::number(rejected));
            QCOMPARE(t->item(r, 3)->text(), QString("–")); // five short iterations do not solve CartPole
            // rounded to 3 significant digits for reading
            QCOMPARE(t->item(r, 1)->text(), QString::number(exact(t, r, 1), 'g', 3));
        }
        // δ = 1 took larger steps than δ = 0.005
        QVERIFY(exact(t, 2, 4) > exact(t, 0, 4));
    }

    void openForkFromTheMainWindow() {
        ui::StudioOptions o;
        o.env = "CartPole-v1";
        o.useSettings = false;
        o.autosave = false;
        o.runDirBase.clear();
        ui::MainWindow w(o);
        QStringList errors;
        w.setMessageHook([&](const QString&, const QString& text) { errors << text; });
        QVERIFY(w.findChild<QAction*>("actionOpenFork"));
        QVERIFY(!w.openComparison(m_tmp.path() + "/parent"));
        QCOMPARE(errors.size(), 1);
        QVERIFY2(errors[0].contains("fork.json"), qPrintable(errors[0]));
        ui::ComparisonView* view = w.openComparison(m_fork);
        QVERIFY(view);
        QVERIFY(QTest::qWaitForWindowExposed(view));
        QVERIFY(view->isWindow());
        QCOMPARE(view->returnPlot()->graphCount(), 1 + kValues.size());
        QCOMPARE(errors.size(), 1);

        // presentation mode, switched on while the comparison is open, enlarges its type too:
        // the heading, the plots' titles and axes, the table; and switched off, gives it back
        auto* heading = view->findChild<QLabel*>("comparisonHeading");
        QVERIFY(heading);
        auto sizes = [&] {
            auto* title = qobject_cast<QCPTextElement*>(view->returnPlot()->plotLayout()->element(0, 0));
            return std::vector<double>{heading->font().pointSizeF(), title ? title->font().pointSizeF() : -1,
                                       view->returnPlot()->xAxis->tickLabelFont().pointSizeF(),
                                       view->table()->item(0, 0)->font().pointSizeF(),
                                       view->table()->item(0, 1)->font().pointSizeF()};
        };
        const std::vector<double> before = sizes();
        QAction* presentation = w.findChild<QAction*>("actionPresentation");
        QVERIFY(presentation);
        presentation->trigger();
        QVERIFY(w.isPresentationMode());
        QTRY_VERIFY(sizes()[0] > before[0] * 1.3);
        const std::vector<double> large = sizes();
        for (size_t i = 0; i < before.size(); ++i)
            QVERIFY2(large[i] > before[i] * 1.2, qPrintable(QString("font %1: %2 -> %3").arg(i).arg(before[i]).arg(large[i])));
        QVERIFY(view->table()->item(0, 0)->font().bold());
        presentation->trigger();
        QVERIFY(!w.isPresentationMode());
        QTRY_COMPARE(sizes(), before);
    }
};

QTEST_MAIN(TestCompare)
#include "test_compare.moc"
