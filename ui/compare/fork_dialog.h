// ForkDialog: Run > Fork… asks what the fork varies (δ by default, the algorithm, or any other
// hot setting), its 2-6 values (δ/3, δ, 3δ to start with), how many iterations each variant
// trains and the folder the fork is written to. Every edit is checked against the run's
// settings as trpo-train --fork checks --vary (run::checkSettingValues): a message under the
// fields names the value and the problem, and Fork stays disabled until the request is valid.
#pragma once

#include <QDialog>
#include <filesystem>
#include <optional>

#include "core/config.h"
#include "run/fork.h"

class QComboBox;
class QDialogButtonBox;
class QLabel;
class QLineEdit;
class QPushButton;
class QSpinBox;

namespace ui {

struct ForkRequest {
    run::VarySpec vary;
    int iterations = 30;              // per variant, after the fork
    std::filesystem::path directory;  // the fork's folder (empty or absent)
};

class ForkDialog : public QDialog {
    Q_OBJECT
public:
    // base: the run's settings now (the variants start from them); defaultDir: the folder offered
    ForkDialog(const core::TrpoConfig& base, int forkIteration, const QString& defaultDir, QWidget* parent = nullptr);

    // the request as the fields stand, or nullopt with the reason in message()
    std::optional<ForkRequest> request() const;
    QString message() const;

    // the values offered for a key: δ/3, δ, 3δ for delta (3 significant digits), three
    // algorithms for algo, the current value otherwise
    static QString defaultValues(const core::TrpoConfig& base, const std::string& key);

    QComboBox* keyPicker() const { return m_key; }
    QLineEdit* valuesEdit() const { return m_values; }
    QSpinBox* iterationsEdit() const { return m_iterations; }
    QLineEdit* directoryEdit() const { return m_dir; }
    QLabel* messageLabel() const { return m_message; }
    QPushButton* forkButton() const { return m_forkButton; }

private:
    void validate();

    core::TrpoConfig m_base;
    QComboBox* m_key = nullptr;
    QLineEdit* m_values = nullptr;
    QSpinBox* m_iterations = nullptr;
    QLineEdit* m_dir = nullptr;
    QLabel* m_message = nullptr;
    QPushButton* m_forkButton = nullptr;
};

} // namespace ui
