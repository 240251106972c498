// HyperparameterPanel: one editor per setting of core::configFields() (ranges, hot/cold and
// tooltips all come from that table). Hot changes go through a QUndoStack and are announced
// with hotConfigChanged; cold changes are announced with coldChangeRequested and only take
// effect when the owner confirms (setConfig). Editors cannot hold an invalid value.
#pragma once

#include <functional>

#include <QUndoStack>
#include <QWidget>
#include <map>
#include <string>

#include "ui/metatypes.h"

class QSlider;
class QFormLayout;

namespace ui {

class HyperparameterPanel : public QWidget {
    Q_OBJECT
public:
    explicit HyperparameterPanel(QWidget* parent = nullptr);

    // shows cfg in every editor (no signals); becomes the panel's current config
    void setConfig(const core::TrpoConfig& cfg);
    const core::TrpoConfig& config() const { return m_config; }
    QUndoStack* undoStack() { return &m_undo; }

    // the editor of a setting (QLineEdit, QSpinBox, QCheckBox or QComboBox), or nullptr
    QWidget* editor(const std::string& key) const;
    // the log slider of a log-scale setting (δ), or nullptr
    QSlider* slider(const std::string& key) const;

    // requests a change from text, as if typed: hot ones go on the undo stack, cold ones are
    // announced; returns false (and emits inputRejected) if the value is refused
    bool requestChange(const std::string& key, const std::string& text);
    // performs a hot change without the undo stack (used by the undo commands)
    void applyHotValue(const std::string& key, const std::string& text);

    static QString displayName(const std::string& key);

    // shows only the settings for which `shown(key)` is true, and a group box only when one of
    // its settings is shown; an empty function shows every setting (a lesson hides the rest)
    void setShownSettings(const std::function<bool(const std::string&)>& shown);
    // whether the setting's row is shown (not hidden by setShownSettings)
    bool isSettingShown(const std::string& key) const;
    // whether any setting is shown
    bool anySettingShown() const;

signals:
    void hotConfigChanged(const core::TrpoConfig& cfg);
    // `next` is the current config with the cold change applied; call setConfig(next) to
    // accept it (after resetting) or setConfig(config()) to revert the editor
    void coldChangeRequested(const core::TrpoConfig& next, const QString& description);
    void inputRejected(const QString& message);

private:
    struct Row {
        const core::ConfigField* field = nullptr;
        QWidget* editor = nullptr;
        QSlider* slider = nullptr;
        double sliderLo = 0, sliderHi = 1;
        QFormLayout* form = nullptr;
        QWidget* rowWidget = nullptr; // the form row's field (the editor, or the slider with it)
        bool shown = true;
    };
    void addRow(QFormLayout* form, const core::ConfigField& f);
    void showValue(const std::string& key);
    void commitFromEditor(const std::string& key);
    double sliderToValue(const Row& r, int pos) const;
    int valueToSlider(const Row& r, double v) const;

    core::TrpoConfig m_config;
    std::map<std::string, Row> m_rows;
    QUndoStack m_undo;
    bool m_updating = false;   // editors being filled programmatically
    bool m_committing = false; // a change (possibly with a dialog) is in progress
};

} // namespace ui
