// The engine reproduces tests/data/trpo_reference.json (a copy of shared/golden): one TRPO
// update computed independently in PyTorch (double precision, FVP by double backprop of
// the mean KL) for a categorical and a Gaussian policy, and a GAE case. All to 1e-9.
#include <QtTest>
#include <nlohmann/json.hpp>

#include "core/gae.h"
#include "core/serialization.h"
#include "core/trpo.h"
#include "support/test_util.h"

using namespace core;
using json = nlohmann::json;

namespace {

json golden() {
    static const json j = json::parse(readFileText(testutil::sourceDir() + "/tests/data/trpo_reference.json"));
    return j;
}

// golden parameter dicts {W1,b1,W2,b2,W3,b3[,log_std]} (W as rows out x in) -> our flat θ
VectorXd flatten(const Policy& policy, const json& p) {
    VectorXd t = VectorXd::Zero(policy.numParams());
    const Mlp& net = policy.net().mlp();
    for (int l = 0; l < net.numLayers(); ++l) {
        const std::string layer = std::to_string(l + 1);
        const auto W = p.at(std::string("W").append(layer)).get<std::vector<std::vector<double>>>();
        const auto b = p.at(std::string("b").append(layer)).get<std::vector<double>>();
        const int out = net.sizes()[l + 1], in = net.sizes()[l];
        Eigen::Map<MatrixXd> Wm(t.data() + net.weightOffset(l), out, in);
        for (int r = 0; r < out; ++r)
            for (int c = 0; c < in; ++c) Wm(r, c) = W.at(r).at(c);
        for (int r = 0; r < out; ++r) t(net.biasOffset(l) + r) = b.at(r);
    }
    if (!policy.discrete()) {
        const auto ls = p.at("log_std").get<std::vector<double>>();
        for (int k = 0; k < policy.outputs(); ++k) t(policy.logStdOffset() + k) = ls.at(k);
    }
    return t;
}

double rel(double a, double b) { return std::abs(a - b) / std::max(std::abs(b), 1e-300); }

} // namespace

class TestGolden : public QObject {
    Q_OBJECT
private slots:
    void update_data() {
        QTest::addColumn<QString>("kind");
        QTest::newRow("categorical") << "categorical";
        QTest::newRow("gaussian") << "gaussian";
    }
    void update() {
        QFETCH(QString, kind);
        const json g = golden().at(kind.toStdString());
        const bool discrete = kind == "categorical";
        const auto obsRows = g.at("obs").get<std::vector<std::vector<double>>>();
        const int n = static_cast<int>(obsRows.size());
        const int od = static_cast<int>(obsRows[0].size());
        MatrixXd obs(od, n);
        for (int i = 0; i < n; ++i)
            for (int k = 0; k < od; ++k) obs(k, i) = obsRows[i][k];
        const Space as = discrete ? Space::discrete(2) : Space::box({-1, -1}, {1, 1});
        Policy policy(od, as, {8, 8}, Activation::Tanh);
        const VectorXd theta = flatten(policy, g.at("params"));
        MatrixXd actions(policy.actionDim(), n);
        for (int i = 0; i < n; ++i) {
            if (discrete)
                actions(0, i) = g.at("actions")[i].get<double>();
            else
                for (int k = 0; k < 2; ++k) actions(k, i) = g.at("actions")[i][k].get<double>();
        }
        const auto advv = g.at("advantages").get<std::vector<double>>();
        const auto oldv = g.at("old_log_prob").get<std::vector<double>>();
        const VectorXd adv = Eigen::Map<const VectorXd>(advv.data(), n);
        const VectorXd oldLogp = Eigen::Map<const VectorXd>(oldv.data(), n);

        // surrogate and gradient
        NetworkWorkspace ws;
        DistBatch d;
        policy.distribution(theta, obs, ws, d);
        const VectorXd ratio = (policy.logProb(d, actions) - oldLogp).array().exp();
        const double surr = ratio.dot(adv) / n;
        QVERIFY2(rel(surr, g.at("surrogate").get<double>()) < 1e-9, "surrogate");
        VectorXd grad = VectorXd::Zero(policy.numParams());
        policy.logProbGradient(theta, d, actions, (ratio.array() * adv.array()) / n, 0.0, ws, grad);
        const VectorXd gradRef = flatten(policy, g.at("gradient"));
        QVERIFY2(testutil::relError(grad, gradRef) < 1e-9, qPrintable(QString::number(testutil::relError(grad, gradRef))));

        // Fisher-vector product (no damping)
        const VectorXd v = flatten(policy, g.at("fvp_vector"));
        VectorXd fv(policy.numParams());
        policy.fisherVectorProduct(theta, d, v, ws, fv);
        const double fvErr = testutil::relError(fv, flatten(policy, g.at("fvp_result_no_damping")));
        QVERIFY2(fvErr < 1e-9, qPrintable(QString::number(fvErr)));

        // CG iterates and residuals on (F + damping I) x = g
        const double damping = g.at("cg").at("damping").get<double>();
        const int iters = g.at("cg").at("iterations").get<int>();
        auto avp = [&](const VectorXd& x, VectorXd& out) {
            policy.fisherVectorProduct(theta, d, x, ws, out);
            out += damping * x;
        };
        const CgResult cg = conjugateGradient(avp, grad, iters, 0.0);
        QCOMPARE(cg.iterations, iters);
        const auto res = g.at("cg").at("residual_norms").get<std::vector<double>>();
        QCOMPARE(cg.residualNorms.size(), res.size());
        for (size_t i = 0; i < res.size(); ++i)
            QVERIFY2(rel(cg.residualNorms[i], res[i]) < 1e-9, qPrintable(QString("residual %1").arg(i)));
        QVERIFY(testutil::relError(cg.x, flatten(policy, g.at("cg").at("x"))) < 1e-9);

        // step size and the state after the full step
        VectorXd ax(policy.numParams());
        avp(cg.x, ax);
        const double xFx = cg.x.dot(ax);
        const json& st = g.at("step");
        QVERIFY(rel(xFx, st.at("xFx_damped").get<double>()) < 1e-9);
        const double delta = st.at("delta").get<double>();
        const double beta = std::sqrt(2 * delta / xFx);
        QVERIFY(rel(beta, st.at("beta").get<double>()) < 1e-9);
        const UpdateBatch batch{obs, actions, adv, oldLogp};
        const SurrogateEval e = evaluateSurrogate(policy, theta + beta * cg.x, batch, d, 0.0);
        QVERIFY(rel(e.surrogate, st.at("surrogate_after_full_step").get<double>()) < 1e-9);
        QVERIFY(rel(e.klMean, st.at("mean_kl_after_full_step").get<double>()) < 1e-9);

        // the whole update takes the full step here (KL < δ, surrogate improves)
        VectorXd t2 = theta;
        IterationStats s;
        UpdateSettings us;
        us.delta = delta;
        us.cgIters = iters;
        us.cgDamping = damping;
        us.cgTolerance = 0.0;
        us.fvpDoublePrecision = true; // the float path is checked against this one in test_trpo
        trpoUpdate(policy, t2, batch, us, s);
        QVERIFY(s.accepted);
        QCOMPARE(s.backtracks, 0);
        QVERIFY(rel(s.beta, st.at("beta").get<double>()) < 1e-9);
        QVERIFY(testutil::relError(t2, theta + beta * cg.x) < 1e-12);
    }

    void gae() {
        const json g = golden().at("gae");
        const auto r = g.at("rewards").get<std::vector<double>>();
        const auto v = g.at("values").get<std::vector<double>>();
        const int n = static_cast<int>(r.size());
        std::vector<std::uint8_t> term, trunc, end(n, 0);
        for (const auto& x : g.at("terminated")) term.push_back(x.get<int>());
        for (const auto& x : g.at("truncated")) trunc.push_back(x.get<int>());
        end[n - 1] = 1;
        VectorXd boot = VectorXd::Zero(n);
        for (int t = 0; t < n; ++t)
            if (trunc[t]) boot(t) = g.at("value_of_truncated_final_obs").get<double>();
        boot(n - 1) = g.at("value_after_batch").get<double>();
        const VectorXd rv = Eigen::Map<const VectorXd>(r.data(), n), vv = Eigen::Map<const VectorXd>(v.data(), n);
        const VectorXd adv =
            computeGae({rv, vv, term, trunc, end, boot, g.at("gamma").get<double>(), g.at("lambda").get<double>()});
        const auto ref = g.at("advantages").get<std::vector<double>>();
        const auto ret = g.at("returns").get<std::vector<double>>();
        for (int t = 0; t < n; ++t) {
            QVERIFY(rel(adv(t), ref[t]) < 1e-9);
            QVERIFY(rel(adv(t) + vv(t), ret[t]) < 1e-9);
        }
    }
};

QTEST_APPLESS_MAIN(TestGolden)
#include "test_golden.moc"
