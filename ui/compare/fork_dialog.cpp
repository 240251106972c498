#include "ui/compare/fork_dialog.h"

#include <QComboBox>
#include <QDialogButtonBox>
#include <QFileDialog>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QPushButton>
#include <QSpinBox>
#include <QVBoxLayout>

#include "ui/hyperparameter_panel.h"

namespace ui {

namespace {
QString number3(double v) { return QString::number(v, 'g', 3); }
} // namespace

QString ForkDialog::defaultValues(const core::TrpoConfig& base, const std::string& key) {
    if (key == "delta") return QString("%1, %2, %3").arg(number3(base.delta / 3), number3(base.delta), number3(base.delta * 3));
    if (key == "algo") return "trpo, kl_penalty, ppo";
    return QString::fromStdString(core::configValue(base, key));
}

ForkDialog::ForkDialog(const core::TrpoConfig& base, int forkIteration, const QString& defaultDir, QWidget* parent)
    : QDialog(parent), m_base(base) {
    setObjectName("forkDialog");
    setWindowTitle(tr("Fork the run at iteration %1").arg(forkIteration));
    auto* intro = new QLabel(tr("The variants start from this run's state at iteration %1 (policy, critic, "
                                "normalisers, every random stream) and differ in one setting. They train side by "
                                "side; the comparison opens in a window of its own.")
                                 .arg(forkIteration));
    intro->setWordWrap(true);

    m_key = new QComboBox;
    m_key->setObjectName("forkKey");
    m_key->addItem(tr("δ (max KL)"), "delta");
    m_key->addItem(tr("Algorithm"), "algo");
    for (const core::ConfigField& f : core::configFields())
        if (f.hot && f.key != "delta")
            m_key->addItem(HyperparameterPanel::displayName(f.key), QString::fromStdString(f.key));
    m_key->setToolTip(tr("What the variants differ in: δ, the algorithm or any setting that applies live"));

    m_values = new QLineEdit(defaultValues(base, "delta"));
    m_values->setObjectName("forkValues");
    m_values->setToolTip(tr("2 to 6 values, separated by commas"));
    m_iterations = new QSpinBox;
    m_iterations->setObjectName("forkIterations");
    m_iterations->setRange(1, 1000);
    m_iterations->setValue(30);
    m_iterations->setSuffix(tr(" iterations"));
    m_iterations->setToolTip(tr("How many iterations each variant trains after the fork"));
    m_dir = new QLineEdit(defaultDir);
    m_dir->setObjectName("forkDirectory");
    m_dir->setToolTip(tr("The fork's folder: one run directory per variant and fork.json (File → Open comparison "
                         "opens it again)"));
    auto* browse = new QPushButton(tr("Choose…"));
    browse->setObjectName("forkChooseDirectory");
    connect(browse, &QPushButton::clicked, this, [this] {
        const QString d = QFileDialog::getExistingDirectory(this, tr("Folder for the fork"), m_dir->text());
        if (!d.isEmpty()) m_dir->setText(d);
    });
    auto* dirRow = new QHBoxLayout;
    dirRow->addWidget(m_dir, 1);
    dirRow->addWidget(browse);

    auto* form = new QFormLayout;
    form->addRow(tr("Vary"), m_key);
    form->addRow(tr("Values"), m_values);
    form->addRow(tr("Each variant trains"), m_iterations);
    form->addRow(tr("Folder"), dirRow);

    m_message = new QLabel;
    m_message->setObjectName("forkMessage");
    m_message->setWordWrap(true);
    m_message->setStyleSheet("QLabel { color: #b00020; }");

    auto* buttons = new QDialogButtonBox(QDialogButtonBox::Cancel);
    m_forkButton = buttons->addButton(tr("Fork"), QDialogButtonBox::AcceptRole);
    m_forkButton->setObjectName("forkButton");
    m_forkButton->setDefault(true);
    connect(buttons, &QDialogButtonBox::accepted, this, [this] {
        if (request()) accept();
    });
    connect(buttons, &QDialogButtonBox::rejected, this, &QDialog::reject);

    auto* layout = new QVBoxLayout(this);
    layout->addWidget(intro);
    layout->addLayout(form);
    layout->addWidget(m_message);
    layout->addWidget(buttons);

    connect(m_key, &QComboBox::currentIndexChanged, this, [this] {
        m_values->setText(defaultValues(m_base, m_key->currentData().toString().toStdString()));
        validate();
    });
    connect(m_values, &QLineEdit::textChanged, this, &ForkDialog::validate);
    connect(m_dir, &QLineEdit::textChanged, this, &ForkDialog::validate);
    resize(560, sizeHint().height());
    validate();
}

std::optional<ForkRequest> ForkDialog::request() const {
    const std::string key = m_key->currentData().toString().toStdString();
    const std::string text = key + "=" + m_values->text().toStdString();
    ForkRequest r;
    try {
        r.vary = run::parseVary(text, m_base);
    } catch (const core::ConfigError&) {
        return std::nullopt;
    }
    r.iterations = m_iterations->value();
    r.directory = m_dir->text().trimmed().toStdString();
    if (r.directory.empty()) return std::nullopt;
    std::error_code ec;
    if (std::filesystem::exists(r.directory, ec) &&
        !(std::filesystem::is_directory(r.directory, ec) && std::filesystem::is_empty(r.directory, ec)))
        return std::nullopt;
    return r;
}

QString ForkDialog::message() const {
    const std::string key = m_key->currentData().toString().toStdString();
    try {
        run::parseVary(key + "=" + m_values->text().toStdString(), m_base);
    } catch (const core::ConfigError& e) {
        // parseVary speaks of the command line's --vary; here the field is "Values"
        QString msg = QString::fromStdString(e.what());
        if (msg.startsWith("--vary: ")) msg = tr("Values: ") + msg.mid(8);
        return msg;
    }
    const QString dir = m_dir->text().trimmed();
    if (dir.isEmpty()) return tr("Folder: choose a folder for the fork");
    std::error_code ec;
    const std::filesystem::path p = dir.toStdString();
    if (std::filesystem::exists(p, ec) && !(std::filesystem::is_directory(p, ec) && std::filesystem::is_empty(p, ec)))
        return tr("Folder: %1 exists and is not empty; choose another").arg(dir);
    return {};
}

void ForkDialog::validate() {
    const QString msg = message();
    m_message->setText(msg);
    m_forkButton->setEnabled(msg.isEmpty());
}

} // namespace ui
