#include "ui/teach/what_if.h"

#include <QUndoCommand>
#include <string>

#include "ui/hyperparameter_panel.h"
#include "ui/run_history.h"

namespace ui {

namespace {

class WhatIfCommand : public QUndoCommand {
public:
    WhatIfCommand(HyperparameterPanel* panel, RunHistory* history, std::string from, std::string to)
        : m_panel(panel), m_history(history), m_from(std::move(from)), m_to(std::move(to)) {
        setText(QObject::tr("what-if δ = %1").arg(QString::fromStdString(m_to)));
    }
    void redo() override {
        m_history->expectChange("delta", m_to, QObject::tr("what-if"));
        m_panel->applyHotValue("delta", m_to);
    }
    void undo() override {
        m_history->expectChange("delta", m_from, QObject::tr("what-if undone"));
        m_panel->applyHotValue("delta", m_from);
    }

private:
    HyperparameterPanel* m_panel;
    RunHistory* m_history;
    std::string m_from, m_to;
};

} // namespace

bool applyWhatIfDelta(HyperparameterPanel* panel, RunHistory* history, double deltaPrime, QString* why) {
    // the value as the configuration writes it, which is how the change's event will name it
    core::TrpoConfig next = panel->config();
    try {
        core::setConfigValue(next, "delta", QString::number(deltaPrime, 'g', 17).toStdString());
        next.validate();
    } catch (const std::exception& e) {
        if (why) *why = QString::fromStdString(e.what());
        return false;
    }
    const std::string from = core::configValue(panel->config(), "delta"), to = core::configValue(next, "delta");
    if (why) why->clear();
    if (from == to) return false;
    panel->undoStack()->push(new WhatIfCommand(panel, history, from, to)); // redo() applies it
    return true;
}

} // namespace ui
