// Lesson files (README "Lessons"): run::parseLesson as the studio's --lesson and File → Open
// lesson use it, with the built-in environments as the known ones. Bad input must throw
// run::LessonError; a lesson that loads must give a valid configuration for every restart.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "run/lesson.h"
#include "sim/registry.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static const std::vector<std::string> envs = [] {
        std::vector<std::string> ids;
        for (const sim::EnvInfo& e : sim::registry()) ids.push_back(e.id);
        return ids;
    }();
    const std::string text(reinterpret_cast<const char*>(data), size);
    try {
        const run::Lesson lesson = run::parseLesson(text, "fuzz.trpolesson", &envs);
        lesson.config.validate();
        for (const run::LessonStep& s : lesson.steps)
            for (const run::LessonAction& a : s.actions)
                if (a.kind == run::LessonAction::Kind::Restart) lesson.restartConfig(a).validate();
    } catch (const run::LessonError&) {
    }
    return 0;
}
