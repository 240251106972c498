// IterationStats' one field table (core/stats.h): it covers every member of the struct, and
// every field survives progress.csv and the JSON history, write then read.
#include <QtTest>
#include <cmath>
#include <limits>
#include <nlohmann/json.hpp>
#include <set>

#include "core/stats.h"

using namespace core;
using json = nlohmann::json;

namespace {

// counts an aggregate's members: the largest n for which T{x1, ..., xn} compiles, with each
// x convertible to anything
struct AnyMember {
    template <class T>
    operator T() const;
};
template <class T, class... A>
constexpr std::size_t memberCount() {
    if constexpr (requires { T{A{}..., AnyMember{}}; })
        return memberCount<T, A..., AnyMember>();
    else
        return sizeof...(A);
}

template <class... F>
struct Overload : F... {
    using F::operator()...;
};
template <class... F>
Overload(F...) -> Overload<F...>;

using S = IterationStats;

// gives field number k a value of its own (exactly representable in 10 digits, so the CSV
// keeps it too)
void setDistinct(IterationStats& s, const StatsField& f, int k) {
    const double v = 1.5 + k;
    std::visit(Overload{[&](int S::*m) { s.*m = 100 + k; }, [&](std::int64_t S::*m) { s.*m = 10'000'000'000LL + k; },
                        [&](double S::*m) { s.*m = v; }, [&](std::optional<double> S::*m) { s.*m = -v; },
                        [&](bool S::*m) { s.*m = true; },
                        [&](LineSearchOutcome S::*m) { s.*m = LineSearchOutcome::NonPositiveCurvature; },
                        [&](Divergence S::*m) { s.*m = Divergence::ReturnCollapse; },
                        [&](std::vector<double> S::*m) { s.*m = {v, v / 4, 0.125}; },
                        [&](std::vector<LineSearchTrial> S::*m) {
                            s.*m = {{1.0, 0.25, 0.5, 0.125, 0.0625, false}, {0.5, 0.0078125, 0.75, 0.5, 0.25, true}};
                        }},
               f.member);
}

// whether field f holds the same value in a and b (lists: as far as `csvOnly` keeps them)
bool sameField(const IterationStats& a, const IterationStats& b, const StatsField& f, bool csvOnly) {
    return std::visit(Overload{[&](std::vector<double> S::*m) {
                                   return csvOnly ? (b.*m).size() == 1 && (b.*m).back() == (a.*m).back()
                                                  : a.*m == b.*m;
                               },
                               [&](std::vector<LineSearchTrial> S::*m) {
                                   if ((a.*m).size() != (b.*m).size()) return false;
                                   for (size_t i = 0; i < (a.*m).size(); ++i) {
                                       const LineSearchTrial &x = (a.*m)[i], &y = (b.*m)[i];
                                       if (x.fraction != y.fraction || x.kl != y.kl || x.surrogate != y.surrogate ||
                                           x.actualImprovement != y.actualImprovement ||
                                           x.expectedImprovement != y.expectedImprovement || x.accepted != y.accepted)
                                           return false;
                                   }
                                   return true;
                               },
                               [&](auto m) { return a.*m == b.*m; }},
                      f.member);
}

IterationStats everyFieldSet() {
    IterationStats s;
    int k = 0;
    for (const StatsField& f : statsFields()) setDistinct(s, f, k++);
    return s;
}

} // namespace

class TestStats : public QObject {
    Q_OBJECT
private slots:
    // a member added to IterationStats without a table entry fails here
    void tableCoversEveryMember() {
        QCOMPARE(memberCount<IterationStats>(), statsFields().size());
        std::set<std::string> keys, columns;
        for (const StatsField& f : statsFields()) {
            QVERIFY2(keys.insert(f.key).second, f.key);
            if (f.inCsv()) QVERIFY2(columns.insert(f.column()).second, f.column());
            QVERIFY(std::string(f.title).size() > 0 && std::string(f.legend).size() > 0);
            QVERIFY2(findStatsField(f.key) == &f, f.key);
        }
    }

    // the published column order (README, "Headless training") does not move by accident
    void csvColumnsAreThePublishedOnes() {
        QCOMPARE(csvHeader(),
                 std::string("iteration,env_steps,wall_seconds,episodes,return_mean,return_min,return_max,return_std,"
                             "length_mean,recent_return_mean,delta,kl_mean,kl_max,trial_kl_first,trial_kl_last,accepted,"
                             "line_search_reason,"
                             "backtracks,step_fraction,surrogate_before,surrogate_after,expected_improvement,"
                             "actual_improvement,improvement_ratio,cg_iterations,cg_residual,grad_norm,step_norm,xFx,"
                             "beta,entropy,std_mean,value_loss_before,value_loss_after,explained_variance_before,"
                             "explained_variance_after,advantage_mean,advantage_std,non_finite_env_steps,divergence,"
                             "seconds_sampling,seconds_advantages,seconds_gradient,seconds_cg,seconds_line_search,"
                             "seconds_value_fit,seconds_probe,steps_per_second,cg_iters_setting,cg_damping"));
    }

    void everyFieldSurvivesTheJsonHistory() {
        const IterationStats s = everyFieldSet();
        const IterationStats back = statsFromJson(json::parse(statsToJson(s).dump()));
        for (const StatsField& f : statsFields()) QVERIFY2(sameField(s, back, f, false), f.key);
        // without timing: the measured fields are left out and come back as zero
        const json noTiming = statsToJson(s, false);
        for (const StatsField& f : statsFields()) QCOMPARE(noTiming.contains(f.key), !f.timing);
        const IterationStats back2 = statsFromJson(noTiming);
        QCOMPARE(back2.secondsCg, 0.0);
        QCOMPARE(back2.delta, s.delta);
    }

    void everyCsvFieldSurvivesProgressCsv() {
        const IterationStats s = everyFieldSet();
        const IterationStats back = statsFromCsv(splitCsvLine(csvHeader()), splitCsvLine(csvRow(s)));
        for (const StatsField& f : statsFields())
            if (f.inCsv()) QVERIFY2(sameField(s, back, f, true), f.key);
        // empty return cells stay empty
        IterationStats none;
        const IterationStats back2 = statsFromCsv(splitCsvLine(csvHeader()), splitCsvLine(csvRow(none)));
        QVERIFY(!back2.returnMean && !back2.recentReturnMean);
    }

    void nonFiniteNumbersSurvive() {
        IterationStats s;
        s.improvementRatio = std::numeric_limits<double>::quiet_NaN();
        s.klMax = std::numeric_limits<double>::infinity();
        s.cgResiduals = {1.0, -std::numeric_limits<double>::infinity()};
        s.delta = 0.1 + 0.2; // not exactly representable in short decimal
        const IterationStats back = statsFromJson(json::parse(statsToJson(s).dump()));
        QVERIFY(std::isnan(back.improvementRatio));
        QVERIFY(std::isinf(back.klMax) && back.klMax > 0);
        QVERIFY(std::isinf(back.cgResiduals[1]) && back.cgResiduals[1] < 0);
        QCOMPARE(back.delta, s.delta);
        QVERIFY(!back.returnMin.has_value());
    }

    // studio histories written before the table (history.json, version 1) still read
    void olderHistoryNamesStillRead() {
        json j = statsToJson(everyFieldSet());
        j["xfx"] = j["xFx"];
        j.erase("xFx");
        j["outcome"] = j["line_search_reason"];
        j.erase("line_search_reason");
        j["trials"] = j["line_search_trials"];
        j.erase("line_search_trials");
        const IterationStats back = statsFromJson(j);
        const IterationStats s = everyFieldSet();
        QCOMPARE(back.xFx, s.xFx);
        QCOMPARE(back.outcome, s.outcome);
        QCOMPARE(back.trials.size(), s.trials.size());
    }

    void badRecordsNameTheField_data() {
        QTest::addColumn<QString>("key");
        QTest::addColumn<QString>("value");
        QTest::newRow("missing") << "kl_mean" << "";
        QTest::newRow("wrong type") << "backtracks" << "\"three\"";
        QTest::newRow("unknown outcome") << "line_search_reason" << "\"maybe\"";
        QTest::newRow("bad number") << "beta" << "\"lots\"";
        QTest::newRow("bad trial") << "line_search_trials" << "[{\"fraction\":1}]";
    }
    void badRecordsNameTheField() {
        QFETCH(QString, key);
        QFETCH(QString, value);
        json j = statsToJson(everyFieldSet());
        if (value.isEmpty())
            j.erase(key.toStdString());
        else
            j[key.toStdString()] = json::parse(value.toStdString());
        try {
            statsFromJson(j);
            QFAIL("a bad record was accepted");
        } catch (const std::runtime_error& e) {
            QVERIFY2(QString(e.what()).contains(key), e.what());
        }
    }

    void badCsvCellsNameTheColumn() {
        std::vector<std::string> cells = splitCsvLine(csvRow(everyFieldSet()));
        cells[11] = "x1"; // kl_mean
        try {
            statsFromCsv(splitCsvLine(csvHeader()), cells);
            QFAIL("a bad cell was accepted");
        } catch (const std::runtime_error& e) {
            QVERIFY2(QString(e.what()).contains("kl_mean"), e.what());
        }
        cells.pop_back();
        QVERIFY_THROWS_EXCEPTION(std::runtime_error, statsFromCsv(splitCsvLine(csvHeader()), cells));
    }
};

QTEST_APPLESS_MAIN(TestStats)
#include "test_stats.moc"
