// Pace: how fast the studio trains, as iterations started per second (0.5, 1, 2, 5, 10), or
// max (as fast as the machine goes, the only pace before there was a choice). The training
// worker starts iterations 1/p seconds apart (README, "The studio"; docs/design.md §3); at a
// teaching pace (2 per second or slower) the viewer plays every new policy from the start of
// an episode. A value type: copy it freely, between threads too.
#pragma once

#include <QString>
#include <chrono>
#include <limits>
#include <optional>
#include <vector>

namespace ui {

struct Pace {
    // iterations started per second; infinity is max
    double perSecond = std::numeric_limits<double>::infinity();

    static Pace max() { return {}; }
    static Pace of(double perSecond) { return {perSecond}; }
    // the default of a fresh install: one iteration per second. A class follows about one
    // update every one or two seconds, and at 1/s CartPole's early policies (episodes of
    // 20 to 50 steps at 50 frames/s) finish at least one episode before the next arrives.
    static Pace teachingDefault() { return of(1); }
    // the choices offered (the pace controls and --pace), slowest first, max last
    static const std::vector<Pace>& choices();
    // "0.5", "1", ..., "max" (case-insensitive, also "Max"); nullopt for anything else
    static std::optional<Pace> parse(const QString& text);

    bool isMax() const { return perSecond == std::numeric_limits<double>::infinity(); }
    // slow enough to watch each policy: the viewer restarts its episode for each new one
    bool isTeaching() const { return perSecond <= 2; }
    // the time between the starts of two iterations (zero at max)
    std::chrono::nanoseconds interval() const;
    // "0.5", "1", ..., "max": what --pace and the settings file take
    QString key() const;
    // "0.5 it/s", ..., "Max": what the pace controls show
    QString label() const;

    bool operator==(const Pace&) const = default;
};

} // namespace ui
