// Lessons (README "Lessons"): a lesson file (JSON, NAME.trpolesson) fixes the environment and
// the settings a class starts from, names the controls the studio shows (every other one is
// hidden), and walks through an ordered list of steps. Each step has a title, a short text for
// the side panel and actions the studio runs when the step is entered (set hot settings, set
// the pace, train N iterations then pause, open the inspector, start a new run with other
// settings, ...). No Qt here: the studio plays a Lesson, the fuzz target parses one.
//
// The format, version 1:
//   {"format": "trpo-studio-lesson", "version": 1, "title": "...",
//    "env": "CartPole-v1", "settings": {<config JSON fields>},
//    "controls": ["pace", "delta", "inspector", ...],
//    "steps": [{"title": "...", "text": "...", "actions": [{"set": {"delta": 0.1}}, {"train": 5}]}]}
//   A fork action: {"fork": {"key": "algo", "values": ["trpo", "ppo"], "iterations": 20}}.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/config.h"
#include "core/serialization.h"

namespace run {

constexpr const char* kLessonFormat = "trpo-studio-lesson";
constexpr int kLessonFormatVersion = 1;
constexpr const char* kLessonSuffix = ".trpolesson";
constexpr int kMaxLessonSteps = 50;
constexpr int kMaxTrainIterations = 1000; // a step's "train" action
constexpr std::size_t kMaxLessonText = 2000; // characters of a step's text (a panel, not a page)

// A lesson that cannot be read; the message starts with the file and names the problem (and
// the step, action or field).
struct LessonError : core::FileError {
    using core::FileError::FileError;
};

// The controls a lesson can show, besides every hot setting's key (its row in the
// Hyperparameters dock). Start, Pause, Step, Reset, the plots, the environment view and the
// lesson panel are always shown.
struct LessonControl {
    std::string name;
    std::string what; // what it shows (README, error messages)
};
const std::vector<LessonControl>& lessonControls();
// a control name a lesson may list: one of lessonControls() or a hot setting's key
bool isLessonControl(const std::string& name);

struct LessonAction {
    enum class Kind {
        Set,          // hot settings from the next iteration, as typed in the Hyperparameters dock
        Pace,         // the training pace: "0.5", "1", "2", "5", "10" or "max"
        Train,        // train `iterations` more iterations, then pause
        Pause,        // pause training
        Inspector,    // open (true) or close (false) the trust-region inspector
        Presentation, // presentation mode on or off
        Restart,      // a new run: the lesson's settings with `settings` over them (cold ones too)
        Fork,         // the run forked into variants of `forkKey` (`forkValues`), `iterations` each, side by side
    };
    Kind kind = Kind::Pause;
    std::vector<std::pair<std::string, std::string>> settings; // Set, Restart: (config key, value text)
    std::string pace;                                          // Pace
    int iterations = 0;                                        // Train, Fork (per variant)
    std::string forkKey;                                       // Fork: a hot setting or "algo"
    std::vector<std::string> forkValues;                       // Fork: 2-6 values, checked as --vary's
    bool on = true;                                            // Inspector, Presentation
};
const char* lessonActionName(LessonAction::Kind kind); // "set", "pace", ...

struct LessonStep {
    std::string title;
    std::string text;
    std::vector<LessonAction> actions; // run in order when the step is entered
};

struct Lesson {
    int formatVersion = kLessonFormatVersion;
    std::string title;
    core::TrpoConfig config;           // the environment's preset with the lesson's settings, validated
    std::vector<std::string> controls; // shown; every other control is hidden
    std::vector<LessonStep> steps;     // at least one

    bool shows(const std::string& control) const;
    // the configuration of a Restart action: the lesson's with the action's settings over it
    core::TrpoConfig restartConfig(const LessonAction& a) const;
};

// Parses a lesson from its text; `source` names the file in messages. The environment must be
// one of `knownEnvs` when the list is given (the studio's registry; run/ does not link sim).
// Throws LessonError ("FILE: step 2, action 1 (set): delta: ...").
Lesson parseLesson(const std::string& text, const std::string& source,
                   const std::vector<std::string>* knownEnvs = nullptr);
// reads and parses the file (a missing or unreadable file is a LessonError too)
Lesson readLesson(const std::filesystem::path& file, const std::vector<std::string>* knownEnvs = nullptr);

// The folder of the shipped lessons: $TRPO_LESSON_DIR, <exe>/../share/trpo-studio/lessons, the
// source tree's resources/lessons (compiled in); the first that exists.
std::optional<std::filesystem::path> findLessonDir();

} // namespace run
