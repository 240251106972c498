// ConfigFiles: File → Open / Save configuration (the run's settings as JSON, core::configToJson)
// and the Help menu's two boxes. A file whose settings are all hot is applied to the running
// run as hyperparameter changes; one with a cold change asks for a new run.
#pragma once

#include <QObject>
#include <QString>

class QWidget;

namespace ui {

class Dialogs;
class HyperparameterPanel;
class RunLifecycle;

class ConfigFiles : public QObject {
    Q_OBJECT
public:
    ConfigFiles(HyperparameterPanel* params, RunLifecycle* lifecycle, Dialogs* dialogs, QWidget* dialogParent);

    // false (and a message naming the file) on failure
    bool saveTo(const QString& path);
    bool openFrom(const QString& path);
    void saveWithDialog();
    void openWithDialog();

    static void showShortcuts(QWidget* parent);
    static void showAbout(QWidget* parent);

private:
    HyperparameterPanel* m_params;
    RunLifecycle* m_lifecycle;
    Dialogs* m_dialogs;
    QWidget* m_dialogParent;
};

} // namespace ui
