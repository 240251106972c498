#include "sim/box2d_env.h"

#include <algorithm>
#include <cstdio>

namespace sim {

namespace {

// collects the first dynamic body whose fixture contains the query point
class PointQuery : public b2QueryCallback {
public:
    explicit PointQuery(const b2Vec2& p) : m_point(p) {}
    bool ReportFixture(b2Fixture* fixture) override {
        b2Body* body = fixture->GetBody();
        if (body->GetType() == b2_dynamicBody && fixture->TestPoint(m_point)) {
            m_body = body;
            return false; // stop the query
        }
        return true;
    }
    b2Vec2 m_point;
    b2Body* m_body = nullptr;
};

} // namespace

Box2DEnvironment::~Box2DEnvironment() = default;

void Box2DEnvironment::doReset(std::uint64_t seed, std::span<double> obs) {
    m_episodeReturn = 0.0;
    m_lastReward = 0.0;
    resetEpisode(seed, obs);
}

core::StepResult Box2DEnvironment::doStep(std::span<const double> action, std::span<double> obs) {
    const core::StepResult r = stepEpisode(action, obs);
    m_lastReward = r.reward;
    m_episodeReturn += r.reward;
    return r;
}

b2World& Box2DEnvironment::newWorld(b2Vec2 gravity) {
    m_mouse = nullptr; // destroyed with the old world
    m_world.reset();
    m_world = std::make_unique<b2World>(gravity);
    b2BodyDef bd; // static at the origin
    m_anchor = m_world->CreateBody(&bd);
    return *m_world;
}

b2Body* Box2DEnvironment::bodyAt(Vec2 p) const {
    if (!m_world) return nullptr;
    const b2Vec2 point = toB2(p);
    b2AABB box;
    const b2Vec2 d(0.001f, 0.001f);
    box.lowerBound = point - d;
    box.upperBound = point + d;
    PointQuery query(point);
    m_world->QueryAABB(&query, box);
    return query.m_body;
}

bool Box2DEnvironment::grab(Vec2 worldPoint) {
    release();
    b2Body* body = bodyAt(worldPoint);
    if (!body || !m_anchor) return false;
    b2MouseJointDef md;
    md.bodyA = m_anchor;
    md.bodyB = body;
    md.target = toB2(worldPoint);
    md.maxForce = 1000.0f * body->GetMass();
    b2LinearStiffness(md.stiffness, md.damping, 5.0f, 0.7f, md.bodyA, md.bodyB);
    m_mouse = static_cast<b2MouseJoint*>(m_world->CreateJoint(&md));
    body->SetAwake(true);
    return true;
}

void Box2DEnvironment::moveGrab(Vec2 worldTarget) {
    if (m_mouse) m_mouse->SetTarget(toB2(worldTarget)); // wakes the body
}

void Box2DEnvironment::release() {
    if (m_mouse && m_world) m_world->DestroyJoint(m_mouse);
    m_mouse = nullptr;
}

bool Box2DEnvironment::applyImpulse(Vec2 worldPoint, Vec2 impulse) {
    b2Body* body = bodyAt(worldPoint);
    if (!body) return false;
    body->ApplyLinearImpulse(toB2(impulse), toB2(worldPoint), true);
    return true;
}

void Box2DEnvironment::drawBody(DrawList& out, const b2Body* body, Color fill, Color stroke, float strokeWidth) {
    const b2Transform& xf = body->GetTransform();
    for (const b2Fixture* f = body->GetFixtureList(); f; f = f->GetNext()) {
        const b2Shape* shape = f->GetShape();
        switch (shape->GetType()) {
        case b2Shape::e_polygon: {
            const auto* poly = static_cast<const b2PolygonShape*>(shape);
            std::vector<Vec2> pts(static_cast<std::size_t>(poly->m_count));
            for (int i = 0; i < poly->m_count; ++i) pts[static_cast<std::size_t>(i)] = toVec(b2Mul(xf, poly->m_vertices[i]));
            out.polygon(std::move(pts), fill, stroke, strokeWidth);
            break;
        }
        case b2Shape::e_circle: {
            const auto* c = static_cast<const b2CircleShape*>(shape);
            out.circle(toVec(b2Mul(xf, c->m_p)), c->m_radius, fill, stroke, strokeWidth);
            break;
        }
        case b2Shape::e_edge: {
            const auto* e = static_cast<const b2EdgeShape*>(shape);
            out.segment(toVec(b2Mul(xf, e->m_vertex1)), toVec(b2Mul(xf, e->m_vertex2)), fill, std::max(1.f, strokeWidth));
            break;
        }
        default:
            break;
        }
    }
}

void Box2DEnvironment::drawGrab(DrawList& out) const {
    if (!m_mouse) return;
    const Color c{0, 160, 0, 255};
    out.segment(toVec(m_mouse->GetAnchorB()), toVec(m_mouse->GetTarget()), c, 2.f);
    out.circle(toVec(m_mouse->GetTarget()), 0.04f, c);
}

void Box2DEnvironment::addEpisodeHud(DrawList& out) const {
    sim::addEpisodeHud(out, elapsedSteps(), m_episodeReturn, m_lastReward);
}

} // namespace sim
