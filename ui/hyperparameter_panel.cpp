#include "ui/hyperparameter_panel.h"

#include <QCheckBox>
#include <QComboBox>
#include <QDoubleValidator>
#include <QFocusEvent>
#include <QFormLayout>
#include <QGroupBox>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QRegularExpressionValidator>
#include <QScopedValueRollback>
#include <QScrollArea>
#include <QSlider>
#include <QSpinBox>
#include <QVBoxLayout>
#include <algorithm>
#include <climits>
#include <cmath>
#include <functional>

namespace ui {

namespace {

// a line edit that puts back the current value when it loses focus holding unacceptable text
class ValueEdit : public QLineEdit {
public:
    std::function<void()> revert;

protected:
    void focusOutEvent(QFocusEvent* event) override {
        if (!hasAcceptableInput() && revert) revert();
        QLineEdit::focusOutEvent(event);
    }
};

const std::map<std::string, QStringList>& enumChoices() {
    static const std::map<std::string, QStringList> m = {
        {"activation", {"tanh", "relu"}},
        {"baseline", {"mlp", "linear"}},
    };
    return m;
}

class SetValueCommand : public QUndoCommand {
public:
    SetValueCommand(HyperparameterPanel* panel, std::string key, std::string from, std::string to)
        : m_panel(panel), m_key(std::move(key)), m_from(std::move(from)), m_to(std::move(to)) {
        setText(QObject::tr("set %1 = %2").arg(HyperparameterPanel::displayName(m_key), QString::fromStdString(m_to)));
    }
    void redo() override { m_panel->applyHotValue(m_key, m_to); }
    void undo() override { m_panel->applyHotValue(m_key, m_from); }

private:
    HyperparameterPanel* m_panel;
    std::string m_key, m_from, m_to;
};

QString fmtSlider(double v) { return QString::number(v, 'g', 3); }

} // namespace

QString HyperparameterPanel::displayName(const std::string& key) {
    static const std::map<std::string, QString> names = {
        {"delta", "δ (max KL)"},
        {"cg_iters", "CG iterations"},
        {"fvp_subsample", "Fisher subsample (every k-th)"},
        {"cg_damping", "CG damping"},
        {"cg_tolerance", "CG tolerance"},
        {"backtrack_coeff", "Backtrack coefficient"},
        {"max_backtracks", "Max backtracks"},
        {"gamma", "γ (discount)"},
        {"lambda", "GAE λ"},
        {"steps_per_iteration", "Steps per iteration"},
        {"value_lr", "Value learning rate"},
        {"value_epochs", "Value epochs"},
        {"value_minibatch", "Value minibatch"},
        {"entropy_coeff", "Entropy coefficient"},
        {"normalize_advantages", "Normalise advantages"},
        {"seed", "Seed"},
        {"hidden", "Policy hidden layers"},
        {"value_hidden", "Value hidden layers"},
        {"activation", "Activation"},
        {"normalize_obs", "Normalise observations"},
        {"obs_clip", "Observation clip"},
        {"normalize_reward", "Normalise rewards"},
        {"log_std_init", "Initial log std"},
        {"num_envs", "Environment copies"},
        {"baseline", "Baseline"},
        {"network", "Network"},
        {"conv_layers", "Conv layers"},
        {"gru_state", "GRU state size"},
        {"gru_critic", "GRU critic"},
        {"bptt_steps", "BPTT steps"},
        {"threads", "Sampling threads"},
        {"env", "Environment"},
        {"algo", "Algorithm"},
        {"policy_lr", "Policy learning rate"},
        {"policy_epochs", "Policy epochs"},
        {"policy_minibatch", "Policy minibatch"},
        {"clip_range", "PPO clip ε"},
        {"kl_beta", "KL penalty β"},
        {"max_grad_norm", "Max gradient norm"},
        {"anneal_steps", "Anneal steps"},
        {"value_coeff", "Joint critic weight c_V"},
    };
    auto it = names.find(key);
    if (it != names.end()) return it->second;
    QString s = QString::fromStdString(key).replace('_', ' ');
    if (!s.isEmpty()) s[0] = s[0].toUpper();
    return s;
}

HyperparameterPanel::HyperparameterPanel(QWidget* parent) : QWidget(parent) {
    setObjectName("hyperparameterPanel");
    auto* content = new QWidget;
    auto* column = new QVBoxLayout(content);
    column->setContentsMargins(4, 4, 4, 4);
    auto* hotBox = new QGroupBox(tr("Live: applied at the next iteration"));
    hotBox->setToolTip(tr("Changes here take effect at the next iteration boundary and are marked on every plot."));
    auto* coldBox = new QGroupBox(tr("Needs a reset"));
    coldBox->setToolTip(tr("Changing these starts a new run (you will be asked first)."));
    auto* hotForm = new QFormLayout(hotBox);
    auto* coldForm = new QFormLayout(coldBox);
    for (QFormLayout* f : {hotForm, coldForm}) {
        f->setFieldGrowthPolicy(QFormLayout::AllNonFixedFieldsGrow);
        f->setLabelAlignment(Qt::AlignRight | Qt::AlignVCenter);
    }
    for (const core::ConfigField& f : core::configFields()) {
        if (f.key == "env") continue; // the run controls' environment picker edits it
        addRow(f.hot ? hotForm : coldForm, f);
    }
    column->addWidget(hotBox);
    column->addWidget(coldBox);
    column->addStretch(1);

    auto* scroll = new QScrollArea;
    scroll->setWidget(content);
    scroll->setWidgetResizable(true);
    scroll->setFrameShape(QFrame::NoFrame);
    scroll->setHorizontalScrollBarPolicy(Qt::ScrollBarAlwaysOff);
    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->addWidget(scroll);
    setConfig(m_config);
}

void HyperparameterPanel::addRow(QFormLayout* form, const core::ConfigField& f) {
    Row row;
    row.field = &f;
    const std::string key = f.key;
    QString range;
    if (f.type == "double" || f.type == "int" || f.type == "int-list")
        range = tr("\nRange: %1 to %2").arg(QString::number(f.min, 'g', 6), QString::number(f.max, 'g', 6));
    const QString tip = QString::fromStdString(f.help) + range +
                        (f.hot ? tr("\nLive: applies at the next iteration.") : tr("\nNeeds a reset."));
    QWidget* field = nullptr;

    auto makeLineEdit = [&](QValidator* validator) {
        auto* e = new ValueEdit;
        e->setValidator(validator);
        e->revert = [this, key] { showValue(key); };
        connect(e, &QLineEdit::editingFinished, this, [this, key] { commitFromEditor(key); });
        connect(e, &QLineEdit::textEdited, e, [e] {
            e->setStyleSheet(e->hasAcceptableInput() ? QString() : QStringLiteral("QLineEdit { background: #ffe0e0; }"));
        });
        return e;
    };

    if (f.type == "double") {
        auto* v = new QDoubleValidator(f.min, f.max, 15, this);
        v->setNotation(QDoubleValidator::ScientificNotation);
        v->setLocale(QLocale::c());
        QLineEdit* e = makeLineEdit(v);
        row.editor = e;
        field = e;
        if (f.logScale) {
            row.sliderLo = key == "delta" ? 1e-4 : (f.min > 0 ? f.min : f.max * 1e-6);
            row.sliderHi = key == "delta" ? 1.0 : f.max;
            auto* s = new QSlider(Qt::Horizontal);
            s->setRange(0, 1000);
            s->setPageStep(50);
            s->setToolTip(tip + tr("\nLog scale from %1 to %2.").arg(row.sliderLo).arg(row.sliderHi));
            s->setObjectName(QString::fromStdString(key) + "_slider");
            row.slider = s;
            e->setMaximumWidth(90);
            auto* box = new QWidget;
            auto* h = new QHBoxLayout(box);
            h->setContentsMargins(0, 0, 0, 0);
            h->addWidget(s, 1);
            h->addWidget(e);
            field = box;
            connect(s, &QSlider::sliderMoved, this, [this, key](int pos) {
                const Row& r = m_rows.at(key);
                static_cast<QLineEdit*>(r.editor)->setText(fmtSlider(sliderToValue(r, pos)));
            });
            connect(s, &QSlider::sliderReleased, this, [this, key] {
                const Row& r = m_rows.at(key);
                requestChange(key, fmtSlider(sliderToValue(r, r.slider->value())).toStdString());
            });
            connect(s, &QSlider::valueChanged, this, [this, key](int pos) {
                const Row& r = m_rows.at(key);
                if (m_updating || r.slider->isSliderDown()) return;
                requestChange(key, fmtSlider(sliderToValue(r, pos)).toStdString());
            });
        }
    } else if (f.type == "int" && f.max <= INT_MAX) {
        auto* s = new QSpinBox;
        s->setRange(static_cast<int>(f.min), static_cast<int>(f.max));
        s->setKeyboardTracking(false);
        s->setAccelerated(true);
        if (f.logScale) s->setStepType(QAbstractSpinBox::AdaptiveDecimalStepType);
        connect(s, &QSpinBox::valueChanged, this, [this, key] {
            if (!m_updating) commitFromEditor(key);
        });
        row.editor = field = s;
    } else if (f.type == "int") {
        auto* v = new QRegularExpressionValidator(QRegularExpression("\\d{1,16}"), this);
        row.editor = field = makeLineEdit(v);
    } else if (f.type == "bool") {
        auto* c = new QCheckBox;
        connect(c, &QCheckBox::toggled, this, [this, key] {
            if (!m_updating) commitFromEditor(key);
        });
        row.editor = field = c;
    } else if (f.type == "enum" && (enumChoices().count(key) || !f.choices.empty())) {
        auto* c = new QComboBox;
        if (enumChoices().count(key)) {
            c->addItems(enumChoices().at(key));
        } else {
            // the choices the configuration table lists (core/config.cpp)
            for (const std::string& choice : f.choices) c->addItem(QString::fromStdString(choice));
        }
        connect(c, &QComboBox::currentIndexChanged, this, [this, key] {
            if (!m_updating) commitFromEditor(key);
        });
        row.editor = field = c;
    } else if (f.type == "int-list") {
        auto* v = new QRegularExpressionValidator(QRegularExpression("\\d{1,4}(,\\d{1,4}){0,7}"), this);
        row.editor = field = makeLineEdit(v);
    } else {
        // strings and enums this panel has no list for: checked by core on commit
        row.editor = field = makeLineEdit(nullptr);
    }
    row.editor->setObjectName(QString::fromStdString(key));
    row.editor->setToolTip(tip);
    auto* label = new QLabel(displayName(key));
    label->setToolTip(tip);
    label->setBuddy(row.editor);
    form->addRow(label, field);
    row.form = form;
    row.rowWidget = field;
    m_rows[key] = row;
}

void HyperparameterPanel::setShownSettings(const std::function<bool(const std::string&)>& shown) {
    std::map<QFormLayout*, bool> anyInForm;
    for (auto& [key, row] : m_rows) {
        row.shown = !shown || shown(key);
        row.form->setRowVisible(row.rowWidget, row.shown);
        anyInForm[row.form] = anyInForm[row.form] || row.shown;
    }
    for (const auto& [form, any] : anyInForm) form->parentWidget()->setVisible(any);
}

bool HyperparameterPanel::isSettingShown(const std::string& key) const {
    const auto it = m_rows.find(key);
    return it != m_rows.end() && it->second.shown;
}

bool HyperparameterPanel::anySettingShown() const {
    return std::any_of(m_rows.begin(), m_rows.end(), [](const auto& r) { return r.second.shown; });
}

double HyperparameterPanel::sliderToValue(const Row& r, int pos) const {
    return r.sliderLo * std::pow(r.sliderHi / r.sliderLo, pos / 1000.0);
}

int HyperparameterPanel::valueToSlider(const Row& r, double v) const {
    if (!(v > 0)) return 0;
    const double t = std::log(v / r.sliderLo) / std::log(r.sliderHi / r.sliderLo);
    return static_cast<int>(std::lround(std::clamp(t, 0.0, 1.0) * 1000));
}

QWidget* HyperparameterPanel::editor(const std::string& key) const {
    auto it = m_rows.find(key);
    return it == m_rows.end() ? nullptr : it->second.editor;
}

QSlider* HyperparameterPanel::slider(const std::string& key) const {
    auto it = m_rows.find(key);
    return it == m_rows.end() ? nullptr : it->second.slider;
}

void HyperparameterPanel::setConfig(const core::TrpoConfig& cfg) {
    m_config = cfg;
    for (const auto& [key, row] : m_rows) showValue(key);
}

void HyperparameterPanel::showValue(const std::string& key) {
    auto it = m_rows.find(key);
    if (it == m_rows.end()) return;
    const Row& r = it->second;
    const QString text = QString::fromStdString(core::configValue(m_config, key));
    QScopedValueRollback guard(m_updating, true);
    if (auto* e = qobject_cast<QLineEdit*>(r.editor)) {
        e->setText(text);
        e->setStyleSheet(QString());
    } else if (auto* s = qobject_cast<QSpinBox*>(r.editor)) {
        s->setValue(text.toInt());
    } else if (auto* c = qobject_cast<QCheckBox*>(r.editor)) {
        c->setChecked(text == "true");
    } else if (auto* c = qobject_cast<QComboBox*>(r.editor)) {
        c->setCurrentText(text);
    }
    if (r.slider) r.slider->setValue(valueToSlider(r, text.toDouble()));
}

void HyperparameterPanel::commitFromEditor(const std::string& key) {
    if (m_updating || m_committing) return;
    const Row& r = m_rows.at(key);
    std::string text;
    if (auto* e = qobject_cast<QLineEdit*>(r.editor)) {
        if (!e->hasAcceptableInput()) {
            emit inputRejected(tr("%1: '%2' is not a valid value").arg(displayName(key), e->text()));
            showValue(key);
            return;
        }
        text = e->text().trimmed().toStdString();
    } else if (auto* s = qobject_cast<QSpinBox*>(r.editor)) {
        text = std::to_string(s->value());
    } else if (auto* c = qobject_cast<QCheckBox*>(r.editor)) {
        text = c->isChecked() ? "true" : "false";
    } else if (auto* c = qobject_cast<QComboBox*>(r.editor)) {
        text = c->currentText().toStdString();
    }
    requestChange(key, text);
}

bool HyperparameterPanel::requestChange(const std::string& key, const std::string& text) {
    if (m_committing) return false;
    auto it = m_rows.find(key);
    if (it == m_rows.end()) return false;
    QScopedValueRollback guard(m_committing, true);
    core::TrpoConfig next = m_config;
    QString also; // a setting the change brings along
    try {
        core::setConfigValue(next, key, text);
        // a GRU's Fisher-vector products run through whole sequences: choosing one turns
        // the Fisher subsample off (a preset may have it on) rather than refusing
        if (key == "network" && core::isRecurrentNetwork(next.network) && next.fvpSubsample != 1) {
            also = tr(", and %1: %2 → 1 (a GRU needs whole sequences)").arg(displayName("fvp_subsample")).arg(next.fvpSubsample);
            next.fvpSubsample = 1;
        }
        next.validate();
    } catch (const std::exception& e) {
        showValue(key);
        emit inputRejected(QString::fromStdString(e.what()));
        return false;
    }
    const std::string from = core::configValue(m_config, key), to = core::configValue(next, key);
    if (from == to) {
        showValue(key);
        return true;
    }
    if (it->second.field->hot) {
        m_undo.push(new SetValueCommand(this, key, from, to)); // redo() applies it
    } else {
        emit coldChangeRequested(next, tr("%1: %2 → %3")
                                               .arg(displayName(key), QString::fromStdString(from), QString::fromStdString(to)) +
                                           also);
        showValue(key); // the owner has accepted (setConfig) or not
    }
    return true;
}

void HyperparameterPanel::applyHotValue(const std::string& key, const std::string& text) {
    core::TrpoConfig next = m_config;
    try {
        core::setConfigValue(next, key, text);
        next.validate();
    } catch (const std::exception& e) {
        emit inputRejected(QString::fromStdString(e.what()));
        return;
    }
    m_config = next;
    showValue(key);
    emit hotConfigChanged(m_config);
}

} // namespace ui
