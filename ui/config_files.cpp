#include "ui/config_files.h"

#include <QFile>
#include <QFileDialog>
#include <QMessageBox>

#include "sim/registry.h"
#include "ui/dialogs.h"
#include "ui/hyperparameter_panel.h"
#include "ui/run_lifecycle.h"

namespace ui {

ConfigFiles::ConfigFiles(HyperparameterPanel* params, RunLifecycle* lifecycle, Dialogs* dialogs, QWidget* dialogParent)
    : QObject(dialogParent), m_params(params), m_lifecycle(lifecycle), m_dialogs(dialogs), m_dialogParent(dialogParent) {}

bool ConfigFiles::saveTo(const QString& path) {
    QFile f(path);
    if (!f.open(QIODevice::WriteOnly | QIODevice::Truncate) ||
        f.write(QByteArray::fromStdString(core::configToJson(m_params->config()) + "\n")) < 0) {
        m_dialogs->showError(tr("Save configuration"), tr("Could not write %1: %2").arg(path, f.errorString()));
        return false;
    }
    m_dialogs->showStatus(tr("Saved %1").arg(path), 5000);
    return true;
}

bool ConfigFiles::openFrom(const QString& path) {
    QFile f(path);
    if (!f.open(QIODevice::ReadOnly)) {
        m_dialogs->showError(tr("Open configuration"), tr("Could not read %1: %2").arg(path, f.errorString()));
        return false;
    }
    core::TrpoConfig cfg = m_params->config();
    try {
        core::applyConfigJson(cfg, f.readAll().toStdString());
        cfg.validate();
        if (!sim::makeEnvironment(cfg.env)) throw core::ConfigError("unknown environment " + cfg.env);
    } catch (const std::exception& e) {
        m_dialogs->showError(tr("Open configuration"), tr("%1: %2").arg(path, QString::fromStdString(e.what())));
        return false;
    }
    const core::TrpoConfig current = m_params->config();
    bool cold = false;
    for (const core::ConfigChange& c : core::diffConfigs(current, cfg, false)) {
        const core::ConfigField* field = core::findConfigField(c.key);
        if (field && !field->hot) cold = true;
    }
    if (cold) {
        if (m_lifecycle->confirmReset(tr("%1 changes settings that need a new run.").arg(path))) m_lifecycle->reset(cfg);
        return true;
    }
    for (const core::ConfigChange& c : core::diffConfigs(current, cfg, true)) m_params->requestChange(c.key, c.to);
    return true;
}

void ConfigFiles::saveWithDialog() {
    const QString path = QFileDialog::getSaveFileName(m_dialogParent, tr("Save configuration"), "config.json", tr("JSON (*.json)"));
    if (!path.isEmpty()) saveTo(path);
}

void ConfigFiles::openWithDialog() {
    const QString path = QFileDialog::getOpenFileName(m_dialogParent, tr("Open configuration"), QString(), tr("JSON (*.json)"));
    if (!path.isEmpty()) openFrom(path);
}

void ConfigFiles::showShortcuts(QWidget* parent) {
    QMessageBox::information(parent, tr("Keyboard shortcuts"),
                             tr("<table cellpadding=3>"
                                "<tr><td><b>Space</b></td><td>Start / pause training</td></tr>"
                                "<tr><td><b>S</b></td><td>Step one iteration</td></tr>"
                                "<tr><td><b>R</b></td><td>Reset (new run, current settings)</td></tr>"
                                "<tr><td><b>Ctrl+F</b></td><td>Fork the run into variants side by side</td></tr>"
                                "<tr><td><b>Ctrl+Shift+S / Ctrl+Shift+O</b></td><td>Save run / open run</td></tr>"
                                "<tr><td><b>Ctrl+Z / Ctrl+Shift+Z</b></td><td>Undo / redo a hyperparameter change</td></tr>"
                                "<tr><td><b>F11, Ctrl+P</b></td><td>Presentation mode</td></tr>"
                                "<tr><td><b>Ctrl+Q</b></td><td>Quit</td></tr>"
                                "<tr><td><b>Mouse</b></td><td>Drag a body in the view; wheel/drag/double-click on plots</td></tr>"
                                "</table>"));
}

void ConfigFiles::showAbout(QWidget* parent) {
    QMessageBox::about(parent, tr("About TRPO Studio"),
                       tr("<b>TRPO Studio %1</b><p>Trust Region Policy Optimization on Box2D environments, "
                          "live.</p><p>GPL-3.0-or-later. Uses Qt (LGPL), QCustomPlot (GPLv3), Eigen (MPL2) "
                          "and Box2D (MIT).</p>")
                           .arg(TRPO_VERSION));
}

} // namespace ui
