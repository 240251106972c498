// ONNX export: the exported models (MLP and CNN policies) pass onnx::checker and, run in ONNX Runtime (npm
// onnxruntime-node, through tests/export/run_onnx.js), give the C++ forward pass to float32
// accuracy; readPolicyOnnx() round-trips and survives corrupt files.
#include <QProcess>
#include <QStandardPaths>
#include <QTemporaryDir>
#include <QtTest>

#include <onnx/checker.h>
#include <onnx/onnx_pb.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "core/rng.h"
#include "core/serialization.h"
#include "export/onnx_export.h"
#include "sim/registry.h"
#include "support/test_util.h"

using Eigen::MatrixXd;
using Eigen::VectorXd;
using json = nlohmann::json;
namespace fs = std::filesystem;

namespace {

struct Case {
    std::string env;
    std::vector<int> hidden;
    core::Activation act;
    bool normalize;
    bool perDimBounds; // replace the action bounds by different ones per dimension
    bool cnn;          // network = cnn over the environment's image (garage's trpo_cubecrash layers)
    int gruState = 0;  // network = gru with this many states (0: not recurrent); with cnn, cnn_gru
};

core::PolicySnapshot makeSnapshot(const Case& c, std::uint64_t seed) {
    auto env = sim::makeEnvironment(c.env);
    if (!env) throw std::runtime_error("unknown env " + c.env);
    core::PolicySnapshot s;
    s.envId = c.env;
    s.observationSpace = env->spec().observation;
    s.actionSpace = env->spec().action;
    if (c.perDimBounds) {
        const int d = s.actionSpace.dim();
        std::vector<double> lo(d), hi(d);
        for (int k = 0; k < d; ++k) {
            lo[k] = -0.5 - 0.25 * k;
            hi[k] = 0.75 + 0.5 * k;
        }
        s.actionSpace = core::Space::box(lo, hi);
    }
    const int od = s.observationSpace.dim();
    if (c.gruState > 0 && c.cnn)
        s.policy = core::Policy(core::NetworkSpec{core::NetworkKind::CnnGru, od, *env->spec().image, {{8, 8, 4}, {16, 4, 2}},
                                                  c.hidden, c.act, c.gruState},
                                s.actionSpace);
    else if (c.gruState > 0)
        s.policy = core::Policy(core::NetworkSpec{core::NetworkKind::Gru, od, {}, {}, c.hidden, c.act, c.gruState}, s.actionSpace);
    else if (c.cnn)
        s.policy = core::Policy(core::NetworkSpec{core::NetworkKind::Cnn, od, *env->spec().image, {{32, 8, 4}, {64, 4, 2}}, c.hidden, c.act},
                                s.actionSpace);
    else
        s.policy = core::Policy(od, s.actionSpace, c.hidden, c.act);
    core::Rng rng(seed);
    s.theta = s.policy.initialParams(rng, -0.5);
    // random perturbation so that the action head is not ~0 (and actions hit the bounds),
    // smaller for wide inputs so that the first layer's sums stay of order one
    const double noise = 0.3 * std::min(1.0, std::sqrt(64.0 / od));
    for (Eigen::Index i = 0; i < s.theta.size(); ++i) s.theta(i) += noise * rng.normal();
    s.normalizer.enabled = c.normalize;
    s.normalizer.clip = 5.0;
    s.normalizer.rms.reset(od);
    if (c.normalize) {
        for (int i = 0; i < od; ++i) {
            s.normalizer.rms.mean(i) = rng.normal();
            s.normalizer.rms.var(i) = std::exp(1.5 * rng.normal());
        }
        s.normalizer.rms.var(0) = 0.0; // the epsilon matters here
    }
    s.iteration = 42;
    s.envSteps = 86016;
    return s;
}

core::PolicyMetadata makeMeta() {
    core::PolicyMetadata m;
    m.seed = 18446744073709551557ull; // near 2^64: must survive as text
    m.deltaHistory = {{0, 0.01}, {17, 0.02}};
    m.extraJson = R"({"note":"test"})";
    return m;
}

// raw observations (obsDim x n), already float32-representable, spread so that the
// normaliser's clip is hit
MatrixXd randomObs(int od, int n, core::Rng& rng) {
    MatrixXd x(od, n);
    for (int j = 0; j < n; ++j)
        for (int i = 0; i < od; ++i) x(i, j) = static_cast<float>(3.0 * rng.normal());
    return x;
}

json batchJson(const MatrixXd& x) {
    std::vector<double> data;
    data.reserve(static_cast<size_t>(x.size()));
    for (Eigen::Index j = 0; j < x.cols(); ++j)
        for (Eigen::Index i = 0; i < x.rows(); ++i) data.push_back(x(i, j)); // row-major [n, d]
    return {{"shape", {x.cols(), x.rows()}}, {"data", data}};
}

fs::path runnerScript() { return fs::path(testutil::sourceDir()) / "tests" / "export" / "run_onnx.js"; }

QString nodeExecutable() {
    const QByteArray env = qgetenv("TRPO_NODE");
    if (!env.isEmpty()) return QString::fromLocal8Bit(env);
    QString n = QStandardPaths::findExecutable("node");
    if (n.isEmpty() && QFileInfo::exists("/usr/bin/node")) n = "/usr/bin/node";
    return n;
}

// why ONNX Runtime cannot be used, or empty
QString runtimeProblem() {
    if (nodeExecutable().isEmpty())
        return "node (Node.js) is not installed: apt-get install nodejs npm, then run scripts/setup.sh";
    const fs::path mod = fs::path(testutil::sourceDir()) / "tests" / "export" / "node_modules" / "onnxruntime-node";
    if (!fs::exists(mod / "package.json"))
        return QString::fromStdString("onnxruntime-node is not installed in " + mod.parent_path().string() +
                                      ": run scripts/setup.sh (or: cd tests/export && npm ci --ignore-scripts)");
    return {};
}

// runs the model on the batches in ONNX Runtime; returns the parsed out.json. A recurrent
// policy's batches come with their states (state size x N each), fed as h_in [1, N, H].
json runOnnxRuntime(const QTemporaryDir& dir, const fs::path& model, const std::vector<MatrixXd>& batches, QString* err,
                    const std::vector<MatrixXd>& states = {}) {
    json in;
    in["batches"] = json::array();
    for (size_t i = 0; i < batches.size(); ++i) {
        in["batches"].push_back(batchJson(batches[i]));
        if (i < states.size()) {
            json h = batchJson(states[i]);
            h["shape"] = {1, states[i].cols(), states[i].rows()};
            in["batches"].back()["extra"] = {{"h_in", h}};
        }
    }
    const fs::path inPath = fs::path(dir.path().toStdString()) / "obs.json";
    const fs::path outPath = fs::path(dir.path().toStdString()) / "out.json";
    core::writeFileAtomic(inPath, in.dump());
    QProcess p;
    p.start(nodeExecutable(), {QString::fromStdString(runnerScript().string()), QString::fromStdString(model.string()),
                               QString::fromStdString(inPath.string()), QString::fromStdString(outPath.string())});
    if (!p.waitForStarted(30000)) {
        *err = "could not start node: " + p.errorString();
        return {};
    }
    if (!p.waitForFinished(180000)) {
        p.kill();
        *err = "node run_onnx.js timed out";
        return {};
    }
    if (p.exitStatus() != QProcess::NormalExit || p.exitCode() != 0) {
        *err = QString("node run_onnx.js failed (exit %1): %2")
                   .arg(p.exitCode())
                   .arg(QString::fromLocal8Bit(p.readAllStandardError()));
        return {};
    }
    return json::parse(core::readFileText(outPath));
}

// row-major [n, k] JSON output (or a recurrent state [1, n, k]) -> k x n
MatrixXd outputMatrix(const json& o) {
    auto dims = o.at("dims").get<std::vector<long>>();
    if (dims.size() == 3 && dims[0] == 1) dims.erase(dims.begin());
    const auto data = o.at("data").get<std::vector<double>>();
    if (dims.size() != 2 || static_cast<long>(data.size()) != dims[0] * dims[1]) throw std::runtime_error("bad output");
    MatrixXd m(dims[1], dims[0]);
    for (long j = 0; j < dims[0]; ++j)
        for (long i = 0; i < dims[1]; ++i) m(i, j) = data[static_cast<size_t>(j * dims[1] + i)];
    return m;
}

// max over entries of |a - b| / (atol + rtol |b|); <= 1 passes
double scaledError(const MatrixXd& onnx, const MatrixXd& ref, double atol = 1e-5, double rtol = 1e-5) {
    if (onnx.rows() != ref.rows() || onnx.cols() != ref.cols()) return INFINITY;
    return ((onnx - ref).array().abs() / (atol + rtol * ref.array().abs())).maxCoeff();
}

MatrixXd softmaxCols(const MatrixXd& z) {
    MatrixXd p = z.rowwise() - z.colwise().maxCoeff();
    p = p.array().exp();
    p.array().rowwise() /= p.colwise().sum().array();
    return p;
}

MatrixXd clipCols(const MatrixXd& m, const core::Space& a) {
    MatrixXd c = m;
    for (Eigen::Index j = 0; j < c.cols(); ++j)
        for (Eigen::Index i = 0; i < c.rows(); ++i) c(i, j) = std::min(std::max(c(i, j), a.low[i]), a.high[i]);
    return c;
}

std::string metaValue(const onnx::ModelProto& m, const std::string& key) {
    for (const auto& e : m.metadata_props())
        if (e.key() == key) return e.value();
    return "<missing>";
}

onnx::ModelProto parseModel(const std::string& bytes) {
    onnx::ModelProto m;
    if (!m.ParseFromString(bytes)) throw std::runtime_error("ParseFromString failed");
    return m;
}

const Case kDiscrete{"CartPole-v1", {64, 64}, core::Activation::Tanh, true, false, false};
const Case kContinuous{"LunarLanderContinuous-v3", {64, 64}, core::Activation::Tanh, true, false, false};
// a pixel observation: CartPolePixels-v0 stacks two 40×60 frames, 4,800 inputs
const Case kPixels{"CartPolePixels-v0", {32, 32}, core::Activation::Relu, true, false, false};
// CNN policies: Reshape to images, Conv + Relu per layer, Flatten, then the head
const Case kCnnCube{"CubeCrash-v0", {32, 32}, core::Activation::Relu, true, false, true};
const Case kCnnPixels{"CartPolePixels-v0", {32}, core::Activation::Tanh, false, false, true};
// GRU policies: Unsqueeze, one GRU step from h_in (h_out an output too), Squeeze, then the head
const Case kGruNoVel{"CartPoleNoVel-v1", {16}, core::Activation::Tanh, true, false, false, 8};
const Case kGruPendulum{"Pendulum-v1", {}, core::Activation::Relu, false, false, false, 5};
// a GRU over conv features: the conv layers as in kCnnCube, Flatten, then the GRU step
const Case kCnnGruCube{"CubeCrashScreenBecomesBlack-v0", {16}, core::Activation::Relu, true, false, true, 6};

} // namespace

class TestOnnxExport : public QObject {
    Q_OBJECT
private slots:
    void matchesOnnxRuntime_data();
    void matchesOnnxRuntime();
    void metadata();
    void roundTrip();
    void roundTripExactForFloatWeights();
    void writerRejectsInconsistentSnapshots();
    void readerRejectsForeignModels();
    void sizesAloneAllocateNothing();
    void fuzzCorruptFiles();
    void gruMatchesOnnxRuntime();
};

void TestOnnxExport::matchesOnnxRuntime_data() {
    QTest::addColumn<int>("caseIndex");
    QTest::newRow("discrete CartPole 4-64-64-2 tanh, normalised") << 0;
    QTest::newRow("continuous LunarLander 8-64-64-2 tanh, normalised, bounds ±1") << 1;
    QTest::newRow("continuous relu, per-dimension bounds, normalised") << 2;
    QTest::newRow("discrete relu, 3 hidden layers, no normaliser") << 3;
    QTest::newRow("continuous Pendulum, bounds ±2, no normaliser") << 4;
    QTest::newRow("discrete CartPolePixels 4800-32-32-2 relu, normalised (the widest input)") << 5;
    QTest::newRow("CNN CubeCrash 3x40x32, conv 32x8x8/4, 64x4x4/2, head 32-32-3 relu, normalised") << 6;
    QTest::newRow("CNN CartPolePixels 2x40x60, conv 32x8x8/4, 64x4x4/2, head 32-2 tanh") << 7;
}

void TestOnnxExport::matchesOnnxRuntime() {
    QFETCH(int, caseIndex);
    const Case cases[] = {kDiscrete,
                          kContinuous,
                          {"LunarLanderContinuous-v3", {64, 32}, core::Activation::Relu, true, true, false},
                          {"Acrobot-v1", {32, 32, 16}, core::Activation::Relu, false, false, false},
                          {"Pendulum-v1", {64, 64}, core::Activation::Tanh, false, false, false},
                          kPixels,
                          kCnnCube,
                          kCnnPixels};
    const Case& c = cases[caseIndex];
    const QString problem = runtimeProblem();
    if (!problem.isEmpty()) QFAIL(qPrintable(problem));

    const core::PolicySnapshot s = makeSnapshot(c, 100 + static_cast<std::uint64_t>(caseIndex));
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    const fs::path model = fs::path(dir.path().toStdString()) / "model.onnx";
    exporter::writePolicyOnnx(s, makeMeta(), model);

    // the ONNX checker accepts the file as written
    const std::string bytes = core::readFileText(model);
    const onnx::ModelProto proto = parseModel(bytes);
    try {
        onnx::checker::check_model(proto);
    } catch (const std::exception& e) {
        QFAIL(e.what());
    }
    QCOMPARE(proto.opset_import(0).version(), exporter::kOnnxOpset);
    // normaliser nodes present exactly when enabled
    bool hasSub = false;
    int convs = 0;
    for (const auto& n : proto.graph().node()) {
        hasSub |= n.op_type() == "Sub";
        convs += n.op_type() == "Conv";
    }
    QCOMPARE(hasSub, c.normalize);
    QCOMPARE(convs, c.cnn ? 2 : 0);

    core::Rng rng(7 + static_cast<std::uint64_t>(caseIndex));
    const int od = s.observationSpace.dim();
    const MatrixXd big = randomObs(od, 1000, rng);
    const MatrixXd one = randomObs(od, 1, rng);
    QString err;
    const json out = runOnnxRuntime(dir, model, {big, one}, &err);
    if (!err.isEmpty()) QFAIL(qPrintable(err));
    QCOMPARE(out.at("inputs").get<std::vector<std::string>>(), std::vector<std::string>{"obs"});
    const bool discrete = s.actionSpace.isDiscrete();
    const std::string first = discrete ? "logits" : "action_mean", second = discrete ? "probabilities" : "action";
    QCOMPARE(out.at("outputs").get<std::vector<std::string>>(), (std::vector<std::string>{first, second}));

    int b = 0;
    for (const MatrixXd* x : {&big, &one}) {
        const json& r = out.at("batches").at(b++);
        const MatrixXd ref = s.outputs(*x);
        const MatrixXd ref2 = discrete ? softmaxCols(ref) : clipCols(ref, s.actionSpace);
        const MatrixXd got = outputMatrix(r.at(first)), got2 = outputMatrix(r.at(second));
        QCOMPARE(got.cols(), x->cols());
        const double e1 = scaledError(got, ref), e2 = scaledError(got2, ref2);
        qInfo("batch %lld: %s max |d| %.3g (scaled %.3g), %s max |d| %.3g (scaled %.3g); output range %.3g",
              static_cast<long long>(x->cols()), first.c_str(), (got - ref).cwiseAbs().maxCoeff(), e1, second.c_str(),
              (got2 - ref2).cwiseAbs().maxCoeff(), e2, ref.cwiseAbs().maxCoeff());
        QVERIFY2(e1 <= 1.0, qPrintable(QString("%1 differs from the C++ forward pass").arg(first.c_str())));
        QVERIFY2(e2 <= 1.0, qPrintable(QString("%1 differs from the C++ reference").arg(second.c_str())));
        if (!discrete && x == &big) {
            // the bounds were actually exercised
            QVERIFY((ref.array() > ref2.array()).any());
            QVERIFY((ref.array() < ref2.array()).any());
        }
    }
}

void TestOnnxExport::metadata() {
    const core::PolicySnapshot s = makeSnapshot(kContinuous, 3);
    const onnx::ModelProto m = parseModel(exporter::policyToOnnx(s, makeMeta()));
    QCOMPARE(m.producer_name(), std::string("TRPO Studio"));
    QCOMPARE(m.ir_version(), static_cast<std::int64_t>(exporter::kOnnxIrVersion));
    QCOMPARE(metaValue(m, "env_id"), std::string("LunarLanderContinuous-v3"));
    QCOMPARE(metaValue(m, "algorithm"), std::string("TRPO"));
    QCOMPARE(metaValue(m, "seed"), std::string("18446744073709551557"));
    QCOMPARE(metaValue(m, "iteration"), std::string("42"));
    QCOMPARE(metaValue(m, "env_steps"), std::string("86016"));
    QCOMPARE(metaValue(m, "studio_version"), std::string(TRPO_VERSION));
    QCOMPARE(metaValue(m, "distribution"), std::string("diagonal_gaussian"));
    QCOMPARE(metaValue(m, "activation"), std::string("tanh"));
    const json dh = json::parse(metaValue(m, "delta_history"));
    QCOMPARE(dh.size(), size_t(2));
    QCOMPARE(dh[1]["iteration"].get<int>(), 17);
    QCOMPARE(dh[1]["delta"].get<double>(), 0.02);
    const auto ls = json::parse(metaValue(m, "log_std")).get<std::vector<double>>();
    QCOMPARE(ls.size(), size_t(2));
    QCOMPARE(ls[0], s.theta(s.policy.logStdOffset()));
    const json as = json::parse(metaValue(m, "action_space"));
    QCOMPARE(as["type"].get<std::string>(), std::string("box"));
    QCOMPARE(as["low"][0].get<double>(), -1.0);
    const json os = json::parse(metaValue(m, "observation_space"));
    QCOMPARE(os["low"].size(), size_t(8));
    QCOMPARE(json::parse(metaValue(m, "extra"))["note"].get<std::string>(), std::string("test"));

    const onnx::ModelProto d = parseModel(exporter::policyToOnnx(makeSnapshot(kDiscrete, 3), {}));
    QCOMPARE(metaValue(d, "distribution"), std::string("categorical"));
    QCOMPARE(metaValue(d, "log_std"), std::string("<missing>"));
    QCOMPARE(json::parse(metaValue(d, "action_space"))["n"].get<int>(), 2);
}

void TestOnnxExport::roundTrip() {
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    for (const Case& c : {kDiscrete, kContinuous, kPixels, kCnnCube, kGruNoVel, kGruPendulum, kCnnGruCube}) {
        const core::PolicySnapshot s = makeSnapshot(c, 11);
        // policy.json carries the same network, wider than any earlier limit included
        const core::SnapshotPtr fromJson = core::policyFromJson(core::policyToJson(s, makeMeta()));
        QCOMPARE(fromJson->policy.net().mlp().sizes(), s.policy.net().mlp().sizes());
        QVERIFY(fromJson->theta == s.theta);
        const fs::path p = fs::path(dir.path().toStdString()) / "p.onnx";
        exporter::writePolicyOnnx(s, makeMeta(), p);
        core::PolicyMetadata meta;
        const core::SnapshotPtr r = exporter::readPolicyOnnx(p, &meta);
        QCOMPARE(r->envId, s.envId);
        QCOMPARE(r->iteration, s.iteration);
        QCOMPARE(r->envSteps, s.envSteps);
        QCOMPARE(meta.seed, makeMeta().seed);
        QCOMPARE(meta.deltaHistory, makeMeta().deltaHistory);
        QCOMPARE(json::parse(meta.extraJson), json::parse(makeMeta().extraJson));
        QCOMPARE(r->policy.net().mlp().sizes(), s.policy.net().mlp().sizes());
        QCOMPARE(r->policy.net().isConv(), c.cnn);
        if (c.cnn) QCOMPARE(r->policy.net().conv().convLayers(), s.policy.net().conv().convLayers());
        QCOMPARE(r->policy.stateSize(), c.gruState);
        QCOMPARE(fromJson->policy.stateSize(), c.gruState);
        QVERIFY(r->policy.net().kind() == s.policy.net().kind());
        QVERIFY(fromJson->policy.net().kind() == s.policy.net().kind());
        QCOMPARE(r->policy.discrete(), s.policy.discrete());
        QCOMPARE(r->actionSpace.low, s.actionSpace.low);
        QCOMPARE(r->actionSpace.high, s.actionSpace.high);
        QCOMPARE(r->observationSpace.low, s.observationSpace.low);
        QCOMPARE(r->normalizer.enabled, s.normalizer.enabled);
        QCOMPARE(r->normalizer.clip, s.normalizer.clip);
        QVERIFY(r->normalizer.rms.mean == s.normalizer.rms.mean);
        QVERIFY(r->normalizer.rms.var == s.normalizer.rms.var);
        // the network weights are the float32 values of the file; the log-std is exact
        QCOMPARE(r->theta.size(), s.theta.size());
        QVERIFY(r->theta.head(s.policy.net().numParams()) ==
                s.theta.head(s.policy.net().numParams()).cast<float>().cast<double>());
        QVERIFY(r->theta.tail(s.theta.size() - s.policy.net().numParams()) ==
                s.theta.tail(s.theta.size() - s.policy.net().numParams()));

        // the same actions as the original for the same RNG (to float32 accuracy)
        core::Rng obsRng(5), rngA(99), rngB(99);
        const int od = s.observationSpace.dim(), ad = s.actionSpace.dim();
        int discreteMismatches = 0;
        for (int i = 0; i < 500; ++i) {
            const MatrixXd x = randomObs(od, 1, obsRng);
            for (bool det : {false, true}) {
                std::vector<double> a(ad), b(ad);
                s.act(std::span<const double>(x.data(), od), rngA, det, a);
                r->act(std::span<const double>(x.data(), od), rngB, det, b);
                for (int k = 0; k < ad; ++k) {
                    if (s.actionSpace.isDiscrete())
                        discreteMismatches += a[k] != b[k];
                    else
                        QVERIFY2(std::abs(a[k] - b[k]) <= 1e-5 * (1 + std::abs(a[k])), qPrintable(QString::number(a[k] - b[k])));
                }
            }
        }
        QCOMPARE(discreteMismatches, 0);
    }
}

void TestOnnxExport::roundTripExactForFloatWeights() {
    // a policy whose weights are float32 values comes back bit for bit: identical actions
    for (const Case& c : {kDiscrete, kContinuous, kCnnPixels}) {
        core::PolicySnapshot s = makeSnapshot(c, 21);
        const int np = s.policy.net().numParams();
        s.theta.head(np) = s.theta.head(np).cast<float>().cast<double>();
        const core::SnapshotPtr r = exporter::policyFromOnnx(exporter::policyToOnnx(s, makeMeta()));
        QVERIFY(r->theta == s.theta);
        core::Rng obsRng(6), rngA(123), rngB(123);
        const int od = s.observationSpace.dim(), ad = s.actionSpace.dim();
        for (int i = 0; i < 300; ++i) {
            const MatrixXd x = randomObs(od, 1, obsRng);
            std::vector<double> a(ad), b(ad);
            s.act(std::span<const double>(x.data(), od), rngA, i % 2 == 0, a);
            r->act(std::span<const double>(x.data(), od), rngB, i % 2 == 0, b);
            QCOMPARE(a, b);
        }
    }
}

void TestOnnxExport::writerRejectsInconsistentSnapshots() {
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    const fs::path p = fs::path(dir.path().toStdString()) / "bad.onnx";
    {
        core::PolicySnapshot s = makeSnapshot(kDiscrete, 1);
        s.theta.conservativeResize(s.theta.size() - 1);
        QVERIFY_THROWS_EXCEPTION(core::FileError, exporter::writePolicyOnnx(s, {}, p));
        QVERIFY(!fs::exists(p));
    }
    {
        core::PolicySnapshot s = makeSnapshot(kContinuous, 1);
        s.theta(3) = NAN;
        QVERIFY_THROWS_EXCEPTION(core::FileError, exporter::writePolicyOnnx(s, {}, p));
    }
    {
        core::PolicySnapshot s = makeSnapshot(kContinuous, 1);
        s.normalizer.rms.var.resize(3);
        QVERIFY_THROWS_EXCEPTION(core::FileError, exporter::writePolicyOnnx(s, {}, p));
    }
    {
        core::PolicyMetadata m;
        m.extraJson = "[1,2";
        QVERIFY_THROWS_EXCEPTION(core::FileError, exporter::writePolicyOnnx(makeSnapshot(kDiscrete, 1), m, p));
    }
    QVERIFY_THROWS_EXCEPTION(core::FileError,
                             exporter::writePolicyOnnx(makeSnapshot(kDiscrete, 1), {}, fs::path(dir.path().toStdString()) / "no" / "x.onnx"));
    QVERIFY(!fs::exists(p));
}

void TestOnnxExport::readerRejectsForeignModels() {
    auto expectError = [](const std::string& bytes, const char* fragment) {
        try {
            exporter::policyFromOnnx(bytes);
        } catch (const std::runtime_error& e) {
            if (!QString(e.what()).contains(fragment))
                qWarning("message '%s' does not mention '%s'", e.what(), fragment);
            return QString(e.what()).contains(fragment);
        }
        qWarning("no error for a model that should be rejected ('%s')", fragment);
        return false;
    };
    const std::string good = exporter::policyToOnnx(makeSnapshot(kContinuous, 2), makeMeta());
    QVERIFY(expectError("", "empty"));
    QVERIFY(expectError(std::string("\xff\xff\xff\xff", 4), "not an ONNX model"));

    // a valid ONNX model from another producer
    onnx::ModelProto m = parseModel(good);
    m.set_producer_name("pytorch");
    QVERIFY(expectError(m.SerializeAsString(), "pytorch"));

    // metadata tampered: the normaliser changed (caught by the content checksum)
    m = parseModel(good);
    for (auto& e : *m.mutable_metadata_props())
        if (e.key() == "obs_normalizer") {
            json j = json::parse(e.value());
            j["mean"][0] = j["mean"][0].get<double>() + 1.0;
            e.set_value(j.dump());
        }
    QVERIFY(expectError(m.SerializeAsString(), "checksum"));

    // one weight changed
    m = parseModel(good);
    for (auto& t : *m.mutable_graph()->mutable_initializer())
        if (t.name() == "layer0.weight") (*t.mutable_raw_data())[5] ^= 0x10;
    QVERIFY(expectError(m.SerializeAsString(), "checksum"));

    // a node changed (Tanh -> Relu) without the metadata saying so
    m = parseModel(good);
    for (auto& n : *m.mutable_graph()->mutable_node())
        if (n.op_type() == "Tanh") n.set_op_type("Relu");
    QVERIFY(expectError(m.SerializeAsString(), "graph node"));

    // an initializer with too few bytes
    m = parseModel(good);
    for (auto& t : *m.mutable_graph()->mutable_initializer())
        if (t.name() == "layer1.weight") t.mutable_raw_data()->resize(12);
    QVERIFY(expectError(m.SerializeAsString(), "layer1.weight"));

    // metadata missing
    m = parseModel(good);
    m.clear_metadata_props();
    QVERIFY(expectError(m.SerializeAsString(), "missing"));

    // a file that does not exist
    QVERIFY_THROWS_EXCEPTION(std::runtime_error, exporter::readPolicyOnnx("/nonexistent/dir/policy.onnx"));
}

// A few bytes of metadata or dims must not make the reader allocate a large buffer the file
// does not hold (resealPolicyOnnx puts the checksum right, as the fuzz target does).
void TestOnnxExport::sizesAloneAllocateNothing() {
    const std::string good = exporter::policyToOnnx(makeSnapshot(kDiscrete, 2), makeMeta());
    auto loadGrowth = [](const std::string& bytes, const char* fragment) {
        return testutil::peakRssGrowthMb([&] {
            try {
                exporter::policyFromOnnx(exporter::resealPolicyOnnx(bytes));
                QFAIL("accepted");
            } catch (const std::runtime_error& e) {
                QVERIFY2(QString(e.what()).contains(fragment), e.what());
            }
        });
    };
    // layer_sizes of a 4096-wide, 9-layer network: θ (1 GB) was allocated and zeroed before
    // the initializers were found to be too small
    onnx::ModelProto m = parseModel(good);
    for (auto& e : *m.mutable_metadata_props())
        if (e.key() == "layer_sizes") e.set_value("[4,4096,4096,4096,4096,4096,4096,4096,4096,2]");
    double mb = loadGrowth(m.SerializeAsString(), "layer0");
    qInfo("layer_sizes alone: peak memory grew by %.0f MB", mb);
    QVERIFY(mb < 100);
    // an initializer whose dims say 2^26 floats and that holds none: 256 MB was allocated
    // before its data was found missing
    m = parseModel(good);
    for (auto& t : *m.mutable_graph()->mutable_initializer())
        if (t.name() == "layer0.weight") {
            t.clear_dims();
            t.add_dims(std::int64_t{1} << 26);
            t.clear_raw_data();
        }
    mb = loadGrowth(m.SerializeAsString(), "layer0.weight");
    qInfo("dims alone: peak memory grew by %.0f MB", mb);
    QVERIFY(mb < 100);
}

void TestOnnxExport::fuzzCorruptFiles() {
    const std::vector<std::string> goods = {exporter::policyToOnnx(makeSnapshot(kDiscrete, 4), makeMeta()),
                                            exporter::policyToOnnx(makeSnapshot(kContinuous, 4), makeMeta()),
                                            exporter::policyToOnnx(makeSnapshot(kGruNoVel, 4), makeMeta())};
    core::Rng rng(2024);
    int errors = 0, valid = 0;
    auto attempt = [&](const std::string& bytes) {
        try {
            const core::SnapshotPtr s = exporter::policyFromOnnx(bytes);
            // whatever loads must be usable
            std::vector<double> obs(static_cast<size_t>(s->observationSpace.dim()), 0.5), a(static_cast<size_t>(s->actionSpace.dim()));
            core::Rng r(1);
            s->act(obs, r, false, a);
            ++valid;
        } catch (const std::runtime_error&) {
            ++errors;
        }
    };
    attempt(std::string());
    for (int i = 0; i < 600; ++i) {
        const std::string& g = goods[static_cast<size_t>(i) % goods.size()];
        std::string b;
        switch (i % 4) {
        case 0: // truncation
            b = g.substr(0, static_cast<size_t>(rng.below(g.size())));
            break;
        case 1: { // bit flips
            b = g;
            const int flips = 1 + static_cast<int>(rng.below(8));
            for (int k = 0; k < flips; ++k) b[static_cast<size_t>(rng.below(b.size()))] ^= static_cast<char>(1u << rng.below(8));
            break;
        }
        case 2: { // random bytes
            b.resize(static_cast<size_t>(rng.below(4096)));
            for (auto& ch : b) ch = static_cast<char>(rng.below(256));
            break;
        }
        default: { // a random slice overwritten with random bytes
            b = g;
            const size_t at = static_cast<size_t>(rng.below(b.size()));
            const size_t n = std::min(b.size() - at, static_cast<size_t>(1 + rng.below(64)));
            for (size_t k = 0; k < n; ++k) b[at + k] = static_cast<char>(rng.below(256));
        }
        }
        attempt(b);
    }
    // and through files
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    for (int i = 0; i < 20; ++i) {
        std::string name = std::to_string(i);
        name += ".onnx";
        const fs::path p = fs::path(dir.path().toStdString()) / name;
        const std::string& g = goods[static_cast<size_t>(i) % goods.size()];
        core::writeFileAtomic(p, g.substr(0, static_cast<size_t>(rng.below(g.size() + 1))));
        try {
            exporter::readPolicyOnnx(p);
            ++valid;
        } catch (const std::runtime_error&) {
            ++errors;
        }
    }
    qInfo("fuzz: %d rejected with std::runtime_error, %d loaded", errors, valid);
    QCOMPARE(errors + valid, 621);
    QVERIFY(errors >= 560); // nearly all: the content checksum catches changed weights and metadata
}

QTEST_GUILESS_MAIN(TestOnnxExport)
#include "test_onnx_export.moc"

// A GRU policy's model, run in ONNX Runtime one step from given states, gives the C++
// forward pass's outputs and its next states (h_out) to float32 accuracy; fed back as h_in,
// h_out carries an episode as act() does.
void TestOnnxExport::gruMatchesOnnxRuntime() {
    const QString problem = runtimeProblem();
    if (!problem.isEmpty()) QFAIL(qPrintable(problem));
    int caseIndex = 0;
    for (const Case& c : {kGruNoVel, kGruPendulum, kCnnGruCube}) {
        const core::PolicySnapshot s = makeSnapshot(c, 300 + static_cast<std::uint64_t>(caseIndex++));
        QTemporaryDir dir;
        QVERIFY(dir.isValid());
        const fs::path model = fs::path(dir.path().toStdString()) / "gru.onnx";
        exporter::writePolicyOnnx(s, makeMeta(), model);
        const onnx::ModelProto proto = parseModel(core::readFileText(model));
        try {
            onnx::checker::check_model(proto);
        } catch (const std::exception& e) {
            QFAIL(e.what());
        }
        int grus = 0, convs = 0;
        for (const auto& n : proto.graph().node()) {
            grus += n.op_type() == "GRU";
            convs += n.op_type() == "Conv";
        }
        QCOMPARE(grus, 1);
        QCOMPARE(convs, c.cnn ? 2 : 0);

        // 500 independent steps, each from a random state
        core::Rng rng(17);
        const int od = s.observationSpace.dim(), H = c.gruState, N = 500;
        const MatrixXd x = randomObs(od, N, rng);
        MatrixXd h(H, N);
        for (Eigen::Index i = 0; i < h.size(); ++i) h(i) = static_cast<float>(rng.uniform(-1.0, 1.0));
        MatrixXd xn = x;
        s.normalizer.normalize(xn);
        core::NetworkWorkspace ws;
        ws.sequences = core::SequenceLayout::blocks(N, 1);
        ws.h0 = h;
        core::DistBatch d;
        s.policy.distribution(s.theta, xn, ws, d);
        const MatrixXd next = s.policy.net().finalState(ws);

        // one episode of 40 steps read as a sequence in C++; in ONNX each step from the state
        // the C++ step before it left, h_out equal to the C++ next state
        const int T = 40;
        const MatrixXd episode = randomObs(od, T, rng);
        MatrixXd en = episode;
        s.normalizer.normalize(en);
        core::NetworkWorkspace wsEp; // no layout: one episode from a zero state
        core::DistBatch dEp;
        s.policy.distribution(s.theta, en, wsEp, dEp);
        const MatrixXd before = wsEp.gru.hPrev, after = wsEp.gru.h;
        QVERIFY(before.col(0).isZero());
        QString err;
        const json out = runOnnxRuntime(dir, model, {x, episode}, &err, {h, before});
        if (!err.isEmpty()) QFAIL(qPrintable(err));
        QCOMPARE(out.at("inputs").get<std::vector<std::string>>(), (std::vector<std::string>{"obs", "h_in"}));
        const std::string first = s.actionSpace.isDiscrete() ? "logits" : "action_mean";
        const json& r = out.at("batches").at(0);
        const double eOut = scaledError(outputMatrix(r.at(first)), d.out);
        const double eState = scaledError(outputMatrix(r.at("h_out")), next);
        qInfo("%s: %s scaled error %.3g, h_out %.3g", c.env.c_str(), first.c_str(), eOut, eState);
        QVERIFY2(eOut <= 1.0, "the outputs differ from the C++ forward pass");
        QVERIFY2(eState <= 1.0, "h_out differs from the C++ state");
        const json& e = out.at("batches").at(1);
        const double eEpisode = std::max(scaledError(outputMatrix(e.at(first)), dEp.out),
                                         scaledError(outputMatrix(e.at("h_out")), after));
        qInfo("%s: a %d-step episode, step by step, scaled error %.3g", c.env.c_str(), T, eEpisode);
        QVERIFY2(eEpisode <= 1.0, "an episode's steps differ from the C++ sequence");
    }
}
