#include "run/lesson.h"

#include <algorithm>
#include <cstdlib>
#include <nlohmann/json.hpp>

#include "core/presets.h"
#include "run/fork.h"

namespace run {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

const char* const kPaces[] = {"0.5", "1", "2", "5", "10", "max"};
const double kPaceValues[] = {0.5, 1, 2, 5, 10}; // the numeric ones, in kPaces' order

// the path of a problem inside the file: "step 2 (\"Title\"), action 1 (set)"
struct Where {
    std::string source;
    std::string place; // empty at the top level
    [[noreturn]] void fail(const std::string& problem) const {
        throw LessonError(source + ": " + (place.empty() ? "" : place + ": ") + problem);
    }
    Where at(const std::string& more) const { return {source, place.empty() ? more : place + ", " + more}; }
};

std::string typeName(const json& v) {
    if (v.is_number()) return "a number";
    if (v.is_string()) return "text";
    if (v.is_boolean()) return "true or false";
    if (v.is_array()) return "a list";
    if (v.is_object()) return "an object";
    return "null";
}

std::string shortDump(const json& v) {
    std::string s = v.dump(-1, ' ', false, json::error_handler_t::replace);
    if (s.size() > 40) s = s.substr(0, 37) + "...";
    return s;
}

// the object's keys must all be in `allowed`
void onlyKeys(const json& obj, std::initializer_list<const char*> allowed, const Where& w) {
    for (auto it = obj.begin(); it != obj.end(); ++it) {
        if (std::none_of(allowed.begin(), allowed.end(), [&](const char* k) { return it.key() == k; })) {
            std::string list;
            for (const char* k : allowed) list += std::string(list.empty() ? "" : ", ") + k;
            w.fail("unknown field \"" + it.key() + "\" (the fields are " + list + ")");
        }
    }
}

std::string requiredText(const json& obj, const char* key, const Where& w, bool nonEmpty, std::size_t maxLength) {
    const auto it = obj.find(key);
    if (it == obj.end()) w.fail(std::string("\"") + key + "\" is missing");
    if (!it->is_string()) w.fail(std::string("\"") + key + "\" must be text, not " + typeName(*it));
    const std::string s = it->get<std::string>();
    if (nonEmpty && s.find_first_not_of(" \t\r\n") == std::string::npos)
        w.fail(std::string("\"") + key + "\" is empty");
    if (s.size() > maxLength)
        w.fail(std::string("\"") + key + "\" has " + std::to_string(s.size()) + " characters; at most " +
               std::to_string(maxLength) + " fit the panel");
    return s;
}

// the settings of a set/restart action over `base`: (key, canonical text) in the file's order,
// and `base` with them applied and validated
std::vector<std::pair<std::string, std::string>> parseSettings(const json& v, core::TrpoConfig& base, bool hotOnly,
                                                               const Where& w) {
    if (!v.is_object()) w.fail("needs an object of settings, as {\"delta\": 0.1}, not " + typeName(v));
    if (hotOnly && v.empty()) w.fail("names no setting");
    std::vector<std::pair<std::string, std::string>> out;
    for (auto it = v.begin(); it != v.end(); ++it) {
        const std::string& key = it.key();
        const core::ConfigField* f = core::findConfigField(key);
        if (!f) w.fail("unknown setting \"" + key + "\"");
        if (key == "env") w.fail("the environment is the lesson's \"env\"; a step cannot change it");
        if (hotOnly && !f->hot)
            w.fail("\"" + key + "\" needs a new run; use a \"restart\" action to change it");
        try {
            core::applyConfigJson(base, json{{key, *it}}.dump());
        } catch (const core::ConfigError& e) {
            w.fail(e.what());
        }
        out.emplace_back(key, core::configValue(base, key));
    }
    try {
        base.validate();
    } catch (const core::ConfigError& e) {
        w.fail(e.what());
    }
    return out;
}

LessonAction parseAction(const json& a, core::TrpoConfig& running, const core::TrpoConfig& lessonConfig,
                         const Where& w) {
    if (!a.is_object() || a.size() != 1)
        w.fail("an action is an object with one field, as {\"train\": 5}, not " + shortDump(a));
    const std::string kind = a.begin().key();
    const json& v = a.begin().value();
    const Where here = Where{w.source, w.place + " (" + kind + ")"};
    LessonAction out;
    if (kind == "set") {
        out.kind = LessonAction::Kind::Set;
        out.settings = parseSettings(v, running, true, here);
    } else if (kind == "restart") {
        out.kind = LessonAction::Kind::Restart;
        running = lessonConfig;
        out.settings = parseSettings(v, running, false, here);
    } else if (kind == "pace") {
        std::string p;
        if (v.is_string()) p = v.get<std::string>();
        else if (v.is_number())
            for (std::size_t i = 0; i < std::size(kPaceValues); ++i) // 0.5, 1, ... as numbers
                if (kPaceValues[i] == v.get<double>()) p = kPaces[i];
        if (!v.is_string() && !v.is_number())
            here.fail("needs one of 0.5, 1, 2, 5, 10 or \"max\", not " + typeName(v));
        if (std::find(std::begin(kPaces), std::end(kPaces), p) == std::end(kPaces))
            here.fail("the pace is one of 0.5, 1, 2, 5, 10 or \"max\" (iterations per second), not " + shortDump(v));
        out.kind = LessonAction::Kind::Pace;
        out.pace = p;
    } else if (kind == "train") {
        int n = 0;
        try {
            n = core::jsonInteger<int>(v);
        } catch (const json::exception&) {
            here.fail("needs a whole number of iterations from 1 to " + std::to_string(kMaxTrainIterations) + ", not " +
                      shortDump(v));
        }
        if (n < 1 || n > kMaxTrainIterations)
            here.fail("needs a whole number of iterations from 1 to " + std::to_string(kMaxTrainIterations) + ", not " +
                      shortDump(v));
        out.kind = LessonAction::Kind::Train;
        out.iterations = n;
    } else if (kind == "pause") {
        if (!v.is_boolean() || !v.get<bool>()) here.fail("is written {\"pause\": true}");
        out.kind = LessonAction::Kind::Pause;
    } else if (kind == "inspector" || kind == "presentation") {
        if (!v.is_boolean()) here.fail("needs true (open) or false (close), not " + typeName(v));
        out.kind = kind == "inspector" ? LessonAction::Kind::Inspector : LessonAction::Kind::Presentation;
        out.on = v.get<bool>();
    } else if (kind == "fork") {
        // {"key": "delta", "values": [0.003, 0.01, 0.03], "iterations": 20}: checked as
        // trpo-train --fork checks --vary, against the settings the steps before leave
        if (!v.is_object()) here.fail("needs an object, as {\"key\": \"delta\", \"values\": [0.003, 0.01], \"iterations\": 20}, not " + typeName(v));
        for (auto it = v.begin(); it != v.end(); ++it)
            if (it.key() != "key" && it.key() != "values" && it.key() != "iterations")
                here.fail("unknown field \"" + it.key() + "\" (a fork has key, values and iterations)");
        if (!v.contains("key") || !v.at("key").is_string()) here.fail("needs \"key\": the setting that varies, as \"delta\" or \"algo\"");
        out.forkKey = v.at("key").get<std::string>();
        if (!varyable(out.forkKey))
            here.fail("\"" + out.forkKey + "\" cannot be forked; a fork varies a hot setting (delta, gamma, kl_beta, ...) or algo");
        if (!v.contains("values") || !v.at("values").is_array())
            here.fail("needs \"values\": a list of " + std::to_string(kMinVariants) + " to " + std::to_string(kMaxVariants) + " values");
        for (const json& x : v.at("values")) {
            if (x.is_string()) out.forkValues.push_back(x.get<std::string>());
            else if (x.is_number() || x.is_boolean()) out.forkValues.push_back(x.dump());
            else here.fail("a value is a number or a string, not " + typeName(x));
        }
        const int n = static_cast<int>(out.forkValues.size());
        if (n < kMinVariants || n > kMaxVariants)
            here.fail("has " + std::to_string(n) + (n == 1 ? " value" : " values") + "; a fork has " +
                      std::to_string(kMinVariants) + " to " + std::to_string(kMaxVariants));
        try {
            checkSettingValues("values", out.forkKey, out.forkValues, shortDump(v.at("values")), running);
        } catch (const core::ConfigError& e) {
            here.fail(e.what());
        }
        if (!v.contains("iterations"))
            here.fail("needs \"iterations\": how many each variant trains, 1 to " + std::to_string(kMaxTrainIterations));
        int it = 0;
        try {
            it = core::jsonInteger<int>(v.at("iterations"));
        } catch (const json::exception&) {
            it = 0;
        }
        if (it < 1 || it > kMaxTrainIterations)
            here.fail("\"iterations\" is a whole number from 1 to " + std::to_string(kMaxTrainIterations) + ", not " +
                      shortDump(v.at("iterations")));
        out.kind = LessonAction::Kind::Fork;
        out.iterations = it;
    } else {
        w.fail("unknown action \"" + kind + "\" (the actions are set, restart, pace, train, pause, inspector, presentation, fork)");
    }
    return out;
}

} // namespace

const std::vector<LessonControl>& lessonControls() {
    static const std::vector<LessonControl> controls = {
        {"environment", "the environment picker (Run dock)"},
        {"pace", "the training pace (toolbar and Run dock)"},
        {"algorithm", "the algorithm (Hyperparameters dock)"},
        {"cold_settings", "the settings that need a new run, other than the algorithm (Hyperparameters dock)"},
        {"inspector", "the trust-region inspector (View menu and its tab)"},
        {"phase_stepping", "Step phase (Run menu, toolbar) and the Phase tab"},
        {"fork", "Run > Fork… (Run menu, toolbar): the run forked into variants side by side"},
        {"viewer", "the viewer's speed, deterministic actions and the hand-written controller (Run dock)"},
    };
    return controls;
}

bool isLessonControl(const std::string& name) {
    for (const LessonControl& c : lessonControls())
        if (c.name == name) return true;
    const core::ConfigField* f = core::findConfigField(name);
    return f && f->hot;
}

const char* lessonActionName(LessonAction::Kind kind) {
    switch (kind) {
    case LessonAction::Kind::Set: return "set";
    case LessonAction::Kind::Pace: return "pace";
    case LessonAction::Kind::Train: return "train";
    case LessonAction::Kind::Pause: return "pause";
    case LessonAction::Kind::Inspector: return "inspector";
    case LessonAction::Kind::Presentation: return "presentation";
    case LessonAction::Kind::Restart: return "restart";
    case LessonAction::Kind::Fork: return "fork";
    }
    return "?";
}

bool Lesson::shows(const std::string& control) const {
    return std::find(controls.begin(), controls.end(), control) != controls.end();
}

core::TrpoConfig Lesson::restartConfig(const LessonAction& a) const {
    core::TrpoConfig c = config;
    for (const auto& [key, value] : a.settings) core::setConfigValue(c, key, value);
    return c;
}

Lesson parseLesson(const std::string& text, const std::string& source, const std::vector<std::string>* knownEnvs) {
    const Where top{source, ""};
    json j;
    try {
        j = json::parse(text);
    } catch (const json::exception& e) {
        top.fail(std::string("not a JSON file: ") + e.what());
    }
    if (!j.is_object()) top.fail("a lesson is a JSON object, not " + typeName(j));
    onlyKeys(j, {"format", "version", "title", "env", "settings", "controls", "steps"}, top);

    const auto format = j.find("format");
    if (format == j.end() || !format->is_string() || format->get<std::string>() != kLessonFormat)
        top.fail(std::string("not a lesson: \"format\" must be \"") + kLessonFormat + "\"");
    const auto version = j.find("version");
    if (version == j.end()) top.fail("\"version\" is missing");
    int v = 0;
    try {
        v = core::jsonInteger<int>(*version);
    } catch (const json::exception&) {
        top.fail("\"version\" must be a whole number, not " + shortDump(*version));
    }
    if (v > kLessonFormatVersion)
        top.fail("version " + std::to_string(v) + " is newer than this studio reads (up to " +
                 std::to_string(kLessonFormatVersion) + ")");
    if (v < 1) top.fail("version " + std::to_string(v) + " is not a lesson format version (1 is the first)");

    Lesson lesson;
    lesson.formatVersion = v;
    lesson.title = requiredText(j, "title", top, true, 200);

    // the environment and its settings
    const std::string env = requiredText(j, "env", top, true, 200);
    if (knownEnvs && std::find(knownEnvs->begin(), knownEnvs->end(), env) == knownEnvs->end()) {
        std::string list;
        for (const std::string& e : *knownEnvs) list += (list.empty() ? "" : ", ") + e;
        top.fail("unknown environment \"" + env + "\" (known: " + list + ")");
    }
    const Where settingsAt = top.at("settings");
    try {
        lesson.config = core::presetConfig(env);
    } catch (const core::ConfigError& e) {
        top.fail(std::string("the preset of ") + env + ": " + e.what());
    }
    if (const auto s = j.find("settings"); s != j.end()) parseSettings(*s, lesson.config, false, settingsAt);
    lesson.config.env = env;

    // the controls shown
    if (const auto c = j.find("controls"); c != j.end()) {
        if (!c->is_array()) top.fail("\"controls\" must be a list of control names, not " + typeName(*c));
        for (std::size_t i = 0; i < c->size(); ++i) {
            const json& name = (*c)[i];
            const Where at = top.at("controls[" + std::to_string(i) + "]");
            if (!name.is_string()) at.fail("a control is named by text, not " + typeName(name));
            const std::string n = name.get<std::string>();
            if (!isLessonControl(n)) {
                std::string list;
                for (const LessonControl& lc : lessonControls()) list += (list.empty() ? "" : ", ") + lc.name;
                at.fail("unknown control \"" + n + "\" (the controls are " + list + " and the hot settings' keys)");
            }
            if (!lesson.shows(n)) lesson.controls.push_back(n);
        }
    }

    // the steps
    const auto steps = j.find("steps");
    if (steps == j.end()) top.fail("\"steps\" is missing");
    if (!steps->is_array()) top.fail("\"steps\" must be a list, not " + typeName(*steps));
    if (steps->empty()) top.fail("\"steps\" is empty: a lesson has at least one step");
    if (steps->size() > static_cast<std::size_t>(kMaxLessonSteps))
        top.fail("\"steps\" has " + std::to_string(steps->size()) + " steps; at most " +
                 std::to_string(kMaxLessonSteps));
    core::TrpoConfig running = lesson.config; // the settings as the steps leave them, in order
    for (std::size_t i = 0; i < steps->size(); ++i) {
        const json& s = (*steps)[i];
        Where at = top.at("step " + std::to_string(i + 1));
        if (!s.is_object()) at.fail("a step is an object with \"title\", \"text\" and \"actions\", not " + typeName(s));
        onlyKeys(s, {"title", "text", "actions"}, at);
        LessonStep step;
        step.title = requiredText(s, "title", at, true, 200);
        at = top.at("step " + std::to_string(i + 1) + " (\"" + step.title.substr(0, 40) + "\")");
        step.text = requiredText(s, "text", at, true, kMaxLessonText);
        if (const auto a = s.find("actions"); a != s.end()) {
            if (!a->is_array()) at.fail("\"actions\" must be a list, not " + typeName(*a));
            for (std::size_t k = 0; k < a->size(); ++k)
                step.actions.push_back(
                    parseAction((*a)[k], running, lesson.config, at.at("action " + std::to_string(k + 1))));
        }
        lesson.steps.push_back(std::move(step));
    }
    return lesson;
}

Lesson readLesson(const fs::path& file, const std::vector<std::string>* knownEnvs) {
    std::string text;
    try {
        text = core::readFileText(file);
    } catch (const std::exception& e) {
        throw LessonError(e.what());
    }
    return parseLesson(text, file.string(), knownEnvs);
}

std::optional<fs::path> findLessonDir() {
    std::error_code ec;
    for (const fs::path& d : core::resourceDirs("TRPO_LESSON_DIR", "lessons"))
        if (fs::is_directory(d, ec)) return d;
    return std::nullopt;
}

} // namespace run
