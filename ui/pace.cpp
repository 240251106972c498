#include "ui/pace.h"

#include <QCoreApplication>
#include <cmath>
#include <cstdint>

namespace ui {

const std::vector<Pace>& Pace::choices() {
    static const std::vector<Pace> all = {of(0.5), of(1), of(2), of(5), of(10), max()};
    return all;
}

std::optional<Pace> Pace::parse(const QString& text) {
    const QString t = text.trimmed();
    for (const Pace& p : choices())
        if (t.compare(p.key(), Qt::CaseInsensitive) == 0) return p;
    // "1.0", "2.00", ".5": the same numbers written otherwise
    bool ok = false;
    const double v = t.toDouble(&ok);
    if (ok)
        for (const Pace& p : choices())
            if (v == p.perSecond) return p;
    return std::nullopt;
}

std::chrono::nanoseconds Pace::interval() const {
    if (isMax() || !(perSecond > 0)) return std::chrono::nanoseconds{0};
    return std::chrono::nanoseconds{static_cast<std::int64_t>(std::llround(1e9 / perSecond))};
}

QString Pace::key() const { return isMax() ? QStringLiteral("max") : QString::number(perSecond, 'g', 6); }

QString Pace::label() const {
    return isMax() ? QCoreApplication::translate("Pace", "Max")
                   : QCoreApplication::translate("Pace", "%1 it/s").arg(QString::number(perSecond, 'g', 6));
}

} // namespace ui
