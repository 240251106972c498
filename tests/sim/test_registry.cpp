// The registry, drawing and viewer perturbations of every registered environment.
#include <QtTest>

#include <cmath>
#include <set>

#include "core/rng.h"
#include "env_test_util.h"
#include "sim/box2d_env.h"
#include "sim/mountain_car.h"
#include "sim/registry.h"

Q_DECLARE_METATYPE(std::string)

namespace {

// a point inside the first dynamic polygon of the world, or nullopt
std::optional<sim::Vec2> pointOnDynamicBody(const sim::Box2DEnvironment& env) {
    if (!env.world()) return std::nullopt;
    for (const b2Body* b = env.world()->GetBodyList(); b; b = b->GetNext()) {
        if (b->GetType() != b2_dynamicBody) continue;
        for (const b2Fixture* f = b->GetFixtureList(); f; f = f->GetNext())
            if (f->GetType() == b2Shape::e_polygon)
                return sim::toVec(b2Mul(b->GetTransform(), static_cast<const b2PolygonShape*>(f->GetShape())->m_centroid));
    }
    return std::nullopt;
}

// runs 20 null-action steps from seed 1, optionally dragging whatever is under `grabAt`
// towards grabAt + (0.6, 0.4); returns the final observation
std::vector<double> rollout(const std::string& id, std::optional<sim::Vec2> grabAt, bool* grabbed) {
    auto env = sim::makeEnvironment(id);
    const auto& spec = env->spec();
    std::vector<double> obs(static_cast<std::size_t>(spec.observation.dim()));
    std::vector<double> act(static_cast<std::size_t>(spec.action.dim()), 0.0);
    env->reset(1, obs);
    if (grabAt) {
        *grabbed = env->grab(*grabAt);
        env->moveGrab({grabAt->x + 0.6f, grabAt->y + 0.4f});
    }
    for (int i = 0; i < 20; ++i) {
        if (spec.action.isDiscrete()) act[0] = i % spec.action.n; // keeps CartPole and Acrobot near rest
        env->step(act, obs);
    }
    if (grabAt) env->release();
    return obs;
}

} // namespace

class TestRegistry : public QObject {
    Q_OBJECT

private slots:
    void ids() {
        const auto& envs = sim::registry();
        QVERIFY(!envs.empty());
        QCOMPARE(QString::fromStdString(envs.front().id), QString("CartPole-v1"));
        std::set<std::string> seen;
        for (const auto& e : envs) {
            QVERIFY2(seen.insert(e.id).second, e.id.c_str());
            QVERIFY(!e.description.empty());
            auto env = e.make();
            QVERIFY(env);
            QCOMPARE(env->spec().id, e.id);
        }
        for (const char* id : {"CartPole-v1", "Pendulum-v1", "Acrobot-v1", "MountainCarContinuous-v0", "CartPoleSwingUp-v0",
                               "LunarLander-v3", "LunarLanderContinuous-v3", "BipedalWalker-v3",
                               "BipedalWalkerHardcore-v3", "BipedalWalkerRandomized-v3"})
            QVERIFY2(seen.count(id), id);
        QVERIFY(sim::makeEnvironment("NoSuchEnv-v0") == nullptr);
        QVERIFY_THROWS_EXCEPTION(std::invalid_argument, sim::environmentFactory("NoSuchEnv-v0"));
        auto factory = sim::environmentFactory("Pendulum-v1");
        QCOMPARE(factory()->spec().id, std::string("Pendulum-v1"));
        QVERIFY(sim::knownEnvironmentIds().find("LunarLander-v3") != std::string::npos);
    }

    // the test seam: an environment registered at run time has a factory by its id, but is
    // neither listed nor drawn
    void registeredEnvironment() {
        const size_t builtIn = sim::registry().size();
        QVERIFY_THROWS_EXCEPTION(std::invalid_argument, sim::environmentFactory("TestPole-v0"));
        sim::registerEnvironment("TestPole-v0", sim::environmentFactory("CartPole-v1"));
        QCOMPARE(sim::environmentFactory("TestPole-v0")()->spec().id, std::string("CartPole-v1"));
        QCOMPARE(sim::registry().size(), builtIn);
        QVERIFY(sim::makeEnvironment("TestPole-v0") == nullptr);
        QVERIFY(sim::knownEnvironmentIds().find("TestPole-v0") == std::string::npos);
        // registering the id again replaces it; a built-in id or an empty factory is refused
        sim::registerEnvironment("TestPole-v0", sim::environmentFactory("Pendulum-v1"));
        QCOMPARE(sim::environmentFactory("TestPole-v0")()->spec().id, std::string("Pendulum-v1"));
        QVERIFY_THROWS_EXCEPTION(std::invalid_argument,
                                 sim::registerEnvironment("CartPole-v1", sim::environmentFactory("Pendulum-v1")));
        QVERIFY_THROWS_EXCEPTION(std::invalid_argument, sim::registerEnvironment("Empty-v0", {}));
    }

    void eachEnv_data() {
        QTest::addColumn<std::string>("id");
        for (const auto& e : sim::registry()) QTest::newRow(e.id.c_str()) << e.id;
    }

    void drawList_data() { eachEnv_data(); }
    void drawList() {
        QFETCH(std::string, id);
        auto env = sim::makeEnvironment(id);
        const auto& spec = env->spec();
        std::vector<double> obs(static_cast<std::size_t>(spec.observation.dim()));
        std::vector<double> act(static_cast<std::size_t>(spec.action.dim()), 0.0);
        env->reset(3, obs);
        for (int step = 0; step < 2; ++step) {
            sim::DrawList dl;
            dl.primitives.push_back({}); // draw() must clear
            env->draw(dl);
            QVERIFY(dl.primitives.size() >= 3);
            const auto& cam = dl.camera;
            QVERIFY(std::isfinite(cam.centre.x) && std::isfinite(cam.centre.y));
            QVERIFY(cam.width > 0.1f && cam.width < 1000.f && cam.height > 0.1f && cam.height < 1000.f);
            const float aspect = cam.width / cam.height;
            QVERIFY(aspect > 0.5f && aspect < 3.f);
            int inside = 0;
            for (const auto& p : dl.primitives) {
                QVERIFY(!p.points.empty());
                for (const auto& v : p.points) {
                    QVERIFY(std::isfinite(v.x) && std::isfinite(v.y));
                    if (std::abs(v.x - cam.centre.x) <= cam.width / 2 && std::abs(v.y - cam.centre.y) <= cam.height / 2) ++inside;
                }
                if (p.kind == sim::Primitive::Kind::Polygon) QVERIFY(p.points.size() >= 3);
                if (p.kind == sim::Primitive::Kind::Circle) QVERIFY(p.radius > 0.f);
            }
            QVERIFY(inside > 0);
            QVERIFY(!dl.hud.empty());
            QCOMPARE(QString::fromStdString(dl.hud.front().first), QString("step"));
            env->step(act, obs);
        }
    }

    // statePoint(obs) lands on the drawn scene of that state: within 3% of the view's width
    // of a vertex, a polygon's centre or a circle's centre, over 60 steps of random actions
    void statePointIsOnTheDrawing_data() { eachEnv_data(); }
    void statePointIsOnTheDrawing() {
        QFETCH(std::string, id);
        auto env = sim::makeEnvironment(id);
        const auto& spec = env->spec();
        std::vector<double> obs(static_cast<std::size_t>(spec.observation.dim()));
        std::vector<double> act(static_cast<std::size_t>(spec.action.dim()), 0.0);
        env->reset(4, obs);
        if (id.rfind("BipedalWalker", 0) == 0) {
            QVERIFY(!env->statePoint(obs)); // its observation holds no position
            return;
        }
        if (id == "CubeCrashScreenBecomesBlack-v0") {
            QVERIFY(env->statePoint(obs)); // the first images show the cube,
            for (int step = 0; step < 4; ++step) env->step(act, obs);
            QVERIFY(!env->statePoint(obs)); // then the screen is black
            return;
        }
        core::Rng rng(9);
        std::set<std::pair<float, float>> distinct;
        for (int step = 0; step < 60; ++step) {
            const std::optional<sim::Vec2> at = env->statePoint(obs);
            QVERIFY(at);
            distinct.insert({at->x, at->y});
            sim::DrawList dl;
            env->draw(dl);
            double nearest = INFINITY;
            auto consider = [&](const sim::Vec2& v) { nearest = std::min(nearest, std::hypot(double(v.x) - at->x, double(v.y) - at->y)); };
            for (const auto& prim : dl.primitives) {
                sim::Vec2 centre{0, 0};
                for (const auto& v : prim.points) {
                    consider(v);
                    centre.x += v.x / static_cast<float>(prim.points.size());
                    centre.y += v.y / static_cast<float>(prim.points.size());
                }
                if (prim.kind == sim::Primitive::Kind::Polygon) consider(centre);
            }
            QVERIFY2(nearest <= 0.03 * dl.camera.width,
                     qPrintable(QString("step %1: (%2, %3) is %4 from the drawing").arg(step).arg(at->x).arg(at->y).arg(nearest)));
            for (std::size_t k = 0; k < act.size(); ++k)
                act[k] = spec.action.isDiscrete() ? static_cast<double>(rng.below(static_cast<std::uint64_t>(spec.action.n)))
                                                  : rng.uniform(spec.action.low[k], spec.action.high[k]);
            const core::StepResult r = env->step(act, obs);
            if (r.terminated || r.truncated) env->reset(static_cast<std::uint64_t>(5 + step), obs);
        }
        QVERIFY(distinct.size() > 10); // it follows the state
    }

    void grabMovesBody_data() { eachEnv_data(); }
    void grabMovesBody() {
        QFETCH(std::string, id);
        if (id.rfind("CubeCrash", 0) == 0) { // pixel rules, no bodies: nothing to grab
            auto env = sim::makeEnvironment(id);
            std::vector<double> obs(static_cast<std::size_t>(env->spec().observation.dim()));
            env->reset(1, obs);
            QVERIFY(!env->grab({16.f, 20.f}));
            QVERIFY(!env->applyImpulse({16.f, 20.f}, {1.f, 0.f}));
            return;
        }
        std::optional<sim::Vec2> at;
        {
            auto env = sim::makeEnvironment(id);
            std::vector<double> obs(static_cast<std::size_t>(env->spec().observation.dim()));
            env->reset(1, obs);
            if (auto* box = dynamic_cast<sim::Box2DEnvironment*>(env.get())) at = pointOnDynamicBody(*box);
            if (auto* car = dynamic_cast<sim::MountainCarContinuousEnv*>(env.get())) {
                const double p = car->state().position;
                at = sim::Vec2{static_cast<float>(p), static_cast<float>(sim::MountainCarContinuousEnv::hillHeight(p) + 0.06)};
            }
        }
        QVERIFY2(at.has_value(), "no grabbable point");
        bool grabbed = false;
        const auto free = rollout(id, std::nullopt, &grabbed);
        const auto held = rollout(id, at, &grabbed);
        QVERIFY(grabbed);
        double diff = 0.0;
        for (std::size_t i = 0; i < free.size(); ++i) diff = std::max(diff, std::abs(free[i] - held[i]));
        QVERIFY2(diff > 0.01, qPrintable(QString::number(diff)));
    }
};

QTEST_APPLESS_MAIN(TestRegistry)
#include "test_registry.moc"
