// Lesson files (run/lesson.h, README "Lessons"): the shipped lessons load, a valid file gives
// the steps and actions it says, and every kind of malformed file is refused with a message
// that starts with the file's name and names the problem (and the step, action or field).
#include <QtTest>
#include <filesystem>
#include <fstream>
#include <string>
#include <unistd.h>

#include "core/presets.h"
#include "run/lesson.h"
#include "sim/registry.h"

namespace fs = std::filesystem;

namespace {

std::vector<std::string> knownEnvs() {
    std::vector<std::string> ids;
    for (const sim::EnvInfo& e : sim::registry()) ids.push_back(e.id);
    return ids;
}

// a valid lesson with `steps` as its steps (JSON text) and `extra` top-level fields
std::string lessonText(const std::string& steps, const std::string& extra = R"("controls": ["pace", "delta"],)") {
    return R"({"format": "trpo-studio-lesson", "version": 1, "title": "T", "env": "CartPole-v1",
               "settings": {"seed": 3, "delta": 0.02}, )" +
           extra + R"( "steps": )" + steps + "}";
}

} // namespace

class TestLesson : public QObject {
    Q_OBJECT
private slots:
    void shippedLessonsLoad_data();
    void shippedLessonsLoad();
    void validLesson();
    void settingsFollowTheSteps();
    void forkAction();
    void malformed_data();
    void malformed();
    void missingFile();
    void unknownEnvironment();
};

void TestLesson::shippedLessonsLoad_data() {
    QTest::addColumn<QString>("name");
    QTest::addColumn<QString>("algoInStep1");
    QTest::newRow("trust_region") << "trust_region" << "trpo";
    QTest::newRow("penalty_or_constraint") << "penalty_or_constraint" << "trpo";
    QTest::newRow("trpo_vs_ppo") << "trpo_vs_ppo" << "trpo";
}

void TestLesson::shippedLessonsLoad() {
    QFETCH(QString, name);
    QFETCH(QString, algoInStep1);
    const std::optional<fs::path> dir = run::findLessonDir();
    QVERIFY(dir);
    const std::vector<std::string> envs = knownEnvs();
    const run::Lesson l = run::readLesson(*dir / (name.toStdString() + run::kLessonSuffix), &envs);
    QVERIFY(!l.title.empty());
    QCOMPARE(l.config.env, std::string("CartPole-v1"));
    QVERIFY(l.steps.size() >= 4 && l.steps.size() <= 8); // TEACHING.md: 4-8 steps
    QVERIFY(l.shows("pace"));
    QVERIFY(!l.shows("environment"));
    for (const run::LessonStep& s : l.steps) {
        QVERIFY(!s.title.empty());
        QVERIFY2(s.text.size() < 500, s.title.c_str()); // short enough to read from the back
    }
    QCOMPARE(QString::fromStdString(core::configValue(l.config, "algo")), algoInStep1);
}

void TestLesson::validLesson() {
    const run::Lesson l = run::parseLesson(
        lessonText(R"([{"title": "One", "text": "first", "actions": [{"pace": "max"}, {"pace": 0.5}, {"train": 3},
                      {"set": {"delta": 0.05, "gamma": 0.98}}, {"inspector": true}, {"presentation": false},
                      {"pause": true}]},
                     {"title": "Two", "text": "second", "actions": [{"restart": {"algo": "ppo", "kl_beta": 2}}]},
                     {"title": "Three", "text": "no actions"}])"),
        "ok.trpolesson");
    QCOMPARE(l.formatVersion, 1);
    QCOMPARE(l.title, std::string("T"));
    QCOMPARE(l.config.seed, std::uint64_t(3));
    QCOMPARE(l.config.delta, 0.02);
    // the rest is the environment's preset
    QCOMPARE(l.config.stepsPerIteration, core::presetConfig("CartPole-v1").stepsPerIteration);
    QCOMPARE(l.controls, (std::vector<std::string>{"pace", "delta"}));
    QVERIFY(!l.shows("inspector"));
    QCOMPARE(l.steps.size(), size_t(3));
    const auto& a = l.steps[0].actions;
    QCOMPARE(a.size(), size_t(7));
    QCOMPARE(a[0].kind, run::LessonAction::Kind::Pace);
    QCOMPARE(a[0].pace, std::string("max"));
    QCOMPARE(a[1].pace, std::string("0.5"));
    QCOMPARE(a[2].kind, run::LessonAction::Kind::Train);
    QCOMPARE(a[2].iterations, 3);
    QCOMPARE(a[3].kind, run::LessonAction::Kind::Set);
    QCOMPARE(a[3].settings.size(), size_t(2));
    QCOMPARE(a[3].settings[0].first, std::string("delta"));
    QCOMPARE(a[3].settings[1].second, std::string("0.98"));
    QCOMPARE(a[4].kind, run::LessonAction::Kind::Inspector);
    QVERIFY(a[4].on);
    QCOMPARE(a[5].kind, run::LessonAction::Kind::Presentation);
    QVERIFY(!a[5].on);
    QCOMPARE(a[6].kind, run::LessonAction::Kind::Pause);
    const run::LessonAction& restart = l.steps[1].actions[0];
    QCOMPARE(restart.kind, run::LessonAction::Kind::Restart);
    const core::TrpoConfig rc = l.restartConfig(restart);
    QCOMPARE(rc.algo, core::Algorithm::Ppo);
    QCOMPARE(rc.klBeta, 2.0);
    QCOMPARE(rc.seed, std::uint64_t(3)); // the lesson's settings underneath
    QVERIFY(l.steps[2].actions.empty());
}

// a set action is checked against the settings the steps before it leave: a restart goes back
// to the lesson's, so a value valid only with a restart's cold change is checked with it
void TestLesson::settingsFollowTheSteps() {
    // steps_per_iteration must be at least 2 x num_envs: 2 steps need 1 env (the preset has 2), 40 envs 80 steps
    const std::string ok = lessonText(R"([{"title": "A", "text": "a", "actions": [{"restart": {"num_envs": 1}},
                                          {"set": {"steps_per_iteration": 2}}]}])");
    QCOMPARE(run::parseLesson(ok, "ok").steps[0].actions.size(), size_t(2));
    const std::string bad = lessonText(R"([{"title": "A", "text": "a", "actions": [{"restart": {"num_envs": 40}},
                                           {"set": {"steps_per_iteration": 40}}]}])");
    try {
        run::parseLesson(bad, "bad.trpolesson");
        QFAIL("accepted");
    } catch (const run::LessonError& e) {
        QVERIFY2(QString(e.what()).startsWith("bad.trpolesson: step 1 (\"A\"), action 2 (set): steps_per_iteration"), e.what());
    }
}

// a fork action: its key, values (numbers or strings, as text) and iterations; checked against
// the settings the steps before leave, as trpo-train --fork checks --vary
void TestLesson::forkAction() {
    const run::Lesson l = run::parseLesson(
        lessonText(R"([{"title": "F", "text": "f", "actions": [{"fork": {"key": "algo", "values": ["trpo", "ppo"],
                      "iterations": 20}}, {"fork": {"key": "delta", "values": [0.003, 0.01, "0.03"], "iterations": 1}}]}])",
                   R"("controls": ["pace", "fork"],)"),
        "fork.trpolesson");
    QVERIFY(l.shows("fork"));
    const auto& a = l.steps[0].actions;
    QCOMPARE(a.size(), size_t(2));
    QCOMPARE(a[0].kind, run::LessonAction::Kind::Fork);
    QCOMPARE(a[0].forkKey, std::string("algo"));
    QCOMPARE(a[0].forkValues, (std::vector<std::string>{"trpo", "ppo"}));
    QCOMPARE(a[0].iterations, 20);
    QCOMPARE(a[1].forkValues, (std::vector<std::string>{"0.003", "0.01", "0.03"}));
    QCOMPARE(std::string(run::lessonActionName(a[1].kind)), std::string("fork"));
    // kl_beta values are checked with the algorithm a restart before it set
    const std::string afterRestart = lessonText(R"([{"title": "A", "text": "a", "actions": [{"restart": {"algo": "kl_penalty"}},
                                                    {"fork": {"key": "kl_beta", "values": [1, 0.01], "iterations": 2}}]}])");
    QCOMPARE(run::parseLesson(afterRestart, "ok").steps[0].actions[1].forkValues, (std::vector<std::string>{"1", "0.01"}));
}

void TestLesson::malformed_data() {
    QTest::addColumn<QString>("text");
    QTest::addColumn<QString>("message"); // what follows "bad.trpolesson: "
    const auto step = [](const std::string& actions) {
        return QString::fromStdString(lessonText(R"([{"title": "S", "text": "t", "actions": [)" + actions + "]}]"));
    };
    QTest::newRow("not json") << "{\"format\": " << "not a JSON file";
    QTest::newRow("array") << "[1, 2]" << "a lesson is a JSON object, not a list";
    QTest::newRow("no format") << R"({"version": 1})" << "not a lesson: \"format\" must be \"trpo-studio-lesson\"";
    QTest::newRow("newer version")
        << QString::fromStdString(lessonText("[]")).replace("\"version\": 1", "\"version\": 2")
        << "version 2 is newer than this studio reads (up to 1)";
    QTest::newRow("version 0") << QString::fromStdString(lessonText("[]")).replace("\"version\": 1", "\"version\": 0")
                               << "version 0 is not a lesson format version";
    QTest::newRow("version text")
        << QString::fromStdString(lessonText("[]")).replace("\"version\": 1", "\"version\": \"1\"")
        << "\"version\" must be a whole number, not \"1\"";
    QTest::newRow("unknown field") << QString::fromStdString(lessonText("[]", R"("colors": 1,)"))
                                   << "unknown field \"colors\"";
    QTest::newRow("no title") << QString::fromStdString(lessonText("[]")).replace("\"title\": \"T\",", "")
                              << "\"title\" is missing";
    QTest::newRow("bad setting value")
        << QString::fromStdString(lessonText("[]")).replace("\"delta\": 0.02", "\"delta\": -1")
        << "settings: delta = -1 is out of range";
    QTest::newRow("unknown setting")
        << QString::fromStdString(lessonText("[]")).replace("\"delta\": 0.02", "\"deltaa\": 1")
        << "settings: unknown setting \"deltaa\"";
    QTest::newRow("unknown control") << QString::fromStdString(lessonText("[]", R"("controls": ["pace", "fork2"],)"))
                                     << "controls[1]: unknown control \"fork2\"";
    QTest::newRow("cold key as control")
        << QString::fromStdString(lessonText("[]", R"("controls": ["seed"],)")) << "controls[0]: unknown control \"seed\"";
    QTest::newRow("controls not a list") << QString::fromStdString(lessonText("[]", R"("controls": "pace",)"))
                                         << "\"controls\" must be a list of control names, not text";
    QTest::newRow("no steps") << QString::fromStdString(lessonText("[]")).replace("\"steps\": []", "\"stepz\": []")
                              << "unknown field \"stepz\"";
    QTest::newRow("empty steps") << QString::fromStdString(lessonText("[]")) << "\"steps\" is empty";
    QTest::newRow("step not object") << QString::fromStdString(lessonText("[3]")) << "step 1: a step is an object";
    QTest::newRow("step without text") << QString::fromStdString(lessonText(R"([{"title": "S"}])"))
                                       << "step 1 (\"S\"): \"text\" is missing";
    QTest::newRow("empty title") << QString::fromStdString(lessonText(R"([{"title": " ", "text": "t"}])"))
                                 << "step 1: \"title\" is empty";
    QTest::newRow("unknown action") << step(R"({"fly": 1})") << "step 1 (\"S\"), action 1: unknown action \"fly\"";
    QTest::newRow("two fields") << step(R"({"train": 1, "pace": 1})")
                                << "step 1 (\"S\"), action 1: an action is an object with one field";
    QTest::newRow("bad set value") << step(R"({"set": {"delta": 50}})")
                                   << "step 1 (\"S\"), action 1 (set): delta = 50 is out of range [1e-06, 10]";
    QTest::newRow("set text for number") << step(R"({"set": {"gamma": "high"}})")
                                         << "step 1 (\"S\"), action 1 (set): setting 'gamma' must be a double, not a string";
    QTest::newRow("set cold") << step(R"({"set": {"seed": 2}})")
                              << "step 1 (\"S\"), action 1 (set): \"seed\" needs a new run; use a \"restart\" action";
    QTest::newRow("set empty") << step(R"({"set": {}})") << "step 1 (\"S\"), action 1 (set): names no setting";
    QTest::newRow("restart env") << step(R"({"restart": {"env": "Pendulum-v1"}})")
                                 << "step 1 (\"S\"), action 1 (restart): the environment is the lesson's \"env\"";
    QTest::newRow("restart bad algo") << step(R"({"restart": {"algo": "sac"}})")
                                      << "step 1 (\"S\"), action 1 (restart): invalid value 'sac' for algo";
    QTest::newRow("bad pace") << step(R"({"pace": 3})")
                              << "step 1 (\"S\"), action 1 (pace): the pace is one of 0.5, 1, 2, 5, 10 or \"max\"";
    QTest::newRow("train zero") << step(R"({"train": 0})")
                                << "step 1 (\"S\"), action 1 (train): needs a whole number of iterations from 1 to 1000, not 0";
    QTest::newRow("train huge") << step(R"({"train": 1e30})") << "(train): needs a whole number of iterations";
    QTest::newRow("train fraction") << step(R"({"train": 2.5})") << "(train): needs a whole number of iterations";
    QTest::newRow("inspector text") << step(R"({"inspector": "yes"})")
                                    << "step 1 (\"S\"), action 1 (inspector): needs true (open) or false (close), not text";
    QTest::newRow("pause false") << step(R"({"pause": false})") << "(pause): is written {\"pause\": true}";
    QTest::newRow("fork not object") << step(R"({"fork": "delta"})") << "step 1 (\"S\"), action 1 (fork): needs an object";
    QTest::newRow("fork cold key") << step(R"({"fork": {"key": "seed", "values": [1, 2], "iterations": 5}})")
                                   << "(fork): \"seed\" cannot be forked";
    QTest::newRow("fork one value") << step(R"({"fork": {"key": "delta", "values": [0.1], "iterations": 5}})")
                                    << "(fork): has 1 value; a fork has 2 to 6";
    QTest::newRow("fork seven values")
        << step(R"({"fork": {"key": "delta", "values": [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7], "iterations": 5}})")
        << "(fork): has 7 values; a fork has 2 to 6";
    QTest::newRow("fork bad value") << step(R"({"fork": {"key": "delta", "values": [0.1, 50], "iterations": 5}})")
                                    << "(fork): values: delta=50: ";
    QTest::newRow("fork twice") << step(R"({"fork": {"key": "delta", "values": [0.1, "0.10"], "iterations": 5}})")
                                << "(fork): values: delta=0.10 is given twice";
    QTest::newRow("fork no iterations") << step(R"({"fork": {"key": "algo", "values": ["trpo", "ppo"]}})")
                                        << "(fork): needs \"iterations\"";
    QTest::newRow("fork zero iterations")
        << step(R"({"fork": {"key": "algo", "values": ["trpo", "ppo"], "iterations": 0}})")
        << "(fork): \"iterations\" is a whole number from 1 to 1000, not 0";
    QTest::newRow("fork unknown field")
        << step(R"({"fork": {"key": "algo", "values": ["trpo", "ppo"], "iterations": 2, "seeds": 3}})")
        << "(fork): unknown field \"seeds\"";
    QTest::newRow("fork value object") << step(R"({"fork": {"key": "algo", "values": ["trpo", {}], "iterations": 2}})")
                                       << "(fork): a value is a number or a string";
    QTest::newRow("long text") << QString::fromStdString(lessonText(R"([{"title": "S", "text": ")" +
                                                                    std::string(2001, 'x') + "\"}]"))
                               << "step 1 (\"S\"): \"text\" has 2001 characters; at most 2000";
}

void TestLesson::malformed() {
    QFETCH(QString, text);
    QFETCH(QString, message);
    try {
        run::parseLesson(text.toStdString(), "bad.trpolesson");
        QFAIL("a malformed lesson was accepted");
    } catch (const run::LessonError& e) {
        const QString what = QString::fromUtf8(e.what());
        QVERIFY2(what.startsWith("bad.trpolesson: "), qPrintable(what));
        QVERIFY2(what.contains(message), qPrintable(what));
    }
}

void TestLesson::missingFile() {
    const fs::path p = fs::temp_directory_path() / ("no-such-lesson-" + std::to_string(::getpid()) + ".trpolesson");
    try {
        run::readLesson(p);
        QFAIL("a missing file was read");
    } catch (const run::LessonError& e) {
        QVERIFY2(QString(e.what()).contains(QString::fromStdString(p.string())), e.what());
    }
}

void TestLesson::unknownEnvironment() {
    const std::vector<std::string> envs = knownEnvs();
    const std::string text = lessonText(R"([{"title": "S", "text": "t"}])");
    QCOMPARE(run::parseLesson(text, "x", &envs).config.env, std::string("CartPole-v1"));
    std::string other = text;
    other.replace(other.find("CartPole-v1"), 11, "CartPole-v9");
    try {
        run::parseLesson(other, "env.trpolesson", &envs);
        QFAIL("an unknown environment was accepted");
    } catch (const run::LessonError& e) {
        QVERIFY2(QString(e.what()).startsWith("env.trpolesson: unknown environment \"CartPole-v9\" (known: CartPole-v1"),
                 e.what());
    }
}

QTEST_GUILESS_MAIN(TestLesson)
#include "test_lesson.moc"
