#include "ui/run_lifecycle.h"

#include <QComboBox>
#include <QSignalBlocker>

#include "core/presets.h"
#include "ui/dialogs.h"
#include "ui/env_view.h"
#include "ui/hyperparameter_panel.h"
#include "ui/plot_panel.h"
#include "ui/run_history.h"
#include "ui/training_session.h"

namespace ui {

RunLifecycle::RunLifecycle(TrainingSession* session, RunHistory* history, const Widgets& widgets, Dialogs* dialogs,
                           std::optional<int> stepsPerIteration, QObject* parent)
    : QObject(parent), m_session(session), m_history(history), m_widgets(widgets), m_dialogs(dialogs),
      m_stepsPerIteration(stepsPerIteration) {
    connect(m_session, &TrainingSession::episodesRecorded, m_history, &RunHistory::appendEpisodes);
    connect(m_session, &TrainingSession::iterationFinished, m_history, &RunHistory::append);
    connect(m_session, &TrainingSession::configApplied, this, &RunLifecycle::onConfigApplied);
    connect(m_session, &TrainingSession::resetFinished, this, [this](const core::TrpoConfig& cfg) {
        m_history->clear(cfg);
        emit runReset();
    });
    HyperparameterPanel* params = m_widgets.params;
    connect(params, &HyperparameterPanel::hotConfigChanged, m_session, &TrainingSession::applyHotConfig);
    connect(params, &HyperparameterPanel::coldChangeRequested, this, &RunLifecycle::onColdChangeRequested);
    connect(params, &HyperparameterPanel::inputRejected, this,
            [this](const QString& msg) { m_dialogs->showStatus(tr("Refused: %1").arg(msg)); });
    connect(m_widgets.envPicker, &QComboBox::activated, this, &RunLifecycle::onEnvironmentPicked);
}

void RunLifecycle::start() {
    emit trainingRequested();
    m_session->start();
}

void RunLifecycle::pause() { m_session->pause(); }

void RunLifecycle::step() {
    emit trainingRequested();
    m_session->step();
}

void RunLifecycle::stepPhase() {
    emit trainingRequested();
    m_session->stepPhase();
}

void RunLifecycle::showRunConfig(const core::TrpoConfig& cfg, bool clearUndo) {
    m_widgets.params->setConfig(cfg);
    if (clearUndo) m_widgets.params->undoStack()->clear();
    {
        const QSignalBlocker block(m_widgets.envPicker);
        m_widgets.envPicker->setCurrentText(QString::fromStdString(cfg.env));
    }
    m_widgets.envView->setEnvironment(QString::fromStdString(cfg.env));
}

void RunLifecycle::reset(const core::TrpoConfig& cfg) {
    emit trainingRequested();
    showRunConfig(cfg);
    m_session->reset(cfg);
}

void RunLifecycle::resetWithCurrentSettings() { reset(m_widgets.params->config()); }

core::TrpoConfig RunLifecycle::presetFor(const QString& env, const core::TrpoConfig& fallback) {
    core::TrpoConfig cfg = fallback;
    try {
        cfg = core::presetConfig(env.toStdString());
    } catch (const std::exception& e) {
        m_dialogs->showStatus(QString::fromStdString(e.what()), 15000);
        cfg.env = env.toStdString();
    }
    if (m_stepsPerIteration) cfg.stepsPerIteration = *m_stepsPerIteration;
    for (const auto& [key, value] : m_overrides) {
        core::TrpoConfig next = cfg;
        try {
            core::setConfigValue(next, key, value);
            next.validate();
            cfg = next;
        } catch (const std::exception& e) {
            m_dialogs->showStatus(QString::fromStdString(e.what()), 15000);
        }
    }
    return cfg;
}

void RunLifecycle::resetToPreset(const QString& env) { reset(presetFor(env, core::TrpoConfig{})); }

void RunLifecycle::onConfigApplied(const std::vector<core::ConfigEvent>& events) {
    m_history->appendConfigEvents(events);
    QStringList parts;
    for (const core::ConfigEvent& e : events) parts << PlotPanel::markerLabel(e, m_history->eventNote(e));
    if (!events.empty())
        m_dialogs->showStatus(tr("%1 from iteration %2").arg(parts.join(", ")).arg(events.front().iteration));
}

bool RunLifecycle::confirmReset(const QString& what) {
    return m_dialogs->ask(tr("Reset needed"),
                          tr("%1\n\nThis setting cannot change during a run. Start a new run with it now?").arg(what),
                          "confirmResetDialog");
}

void RunLifecycle::onColdChangeRequested(const core::TrpoConfig& next, const QString& description) {
    if (confirmReset(description))
        reset(next);
    else
        m_widgets.params->setConfig(m_widgets.params->config());
}

void RunLifecycle::onEnvironmentPicked(int index) {
    QComboBox* picker = m_widgets.envPicker;
    const QString id = picker->itemText(index);
    const core::TrpoConfig current = m_widgets.params->config();
    if (id.toStdString() == current.env) return;
    if (!confirmReset(tr("Environment: %1 → %2 (with its preset settings)").arg(QString::fromStdString(current.env), id))) {
        const QSignalBlocker block(picker);
        picker->setCurrentText(QString::fromStdString(current.env));
        return;
    }
    core::TrpoConfig cfg = presetFor(id, current); // no preset: the current settings
    cfg.seed = current.seed;
    reset(cfg);
}

} // namespace ui
