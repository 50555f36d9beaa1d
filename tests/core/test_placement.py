"""Placement of lifted people: the least-squares solve and the fit to the 2D rays."""

from __future__ import annotations

import numpy as np
import pytest

from monopose.core.camera import project_points
from monopose.core.geometry import place_in_camera
from monopose.core.placement import (
    PLACEMENTS,
    ROOT_JOINT_WEIGHTS,
    check_placement,
    place_poses,
)
from monopose.core.projection import pixels_to_normalized
from monopose.core.ray_fit import RayFitSettings, bone_lengths, fit_to_rays
from monopose.core.skeleton import H36M17

INTR = np.array([1000.0, 1000.0, 640.0, 360.0])
BONES = H36M17.bones


def _people(n: int = 4, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """``n`` random people ``[n, 17, 3]`` mm (root-relative, root at 0) and their roots."""
    rng = np.random.default_rng(seed)
    rel = rng.normal(0.0, 250.0, (n, 17, 3))
    rel[:, 0] = 0.0
    roots = np.stack([rng.uniform(-800, 800, n), rng.uniform(-300, 300, n),
                      rng.uniform(3000, 6000, n)], axis=1)
    return rel, roots


def _bone_lengths(rel: np.ndarray) -> np.ndarray:
    child, parent = zip(*BONES, strict=True)
    return np.linalg.norm(rel[..., list(child), :] - rel[..., list(parent), :], axis=-1)


def _reprojection_px(rel: np.ndarray, root: np.ndarray, kp_px: np.ndarray) -> np.ndarray:
    return np.linalg.norm(project_points(rel + root[:, None], INTR) - kp_px, axis=-1)


def test_a_pose_that_matches_its_rays_stays_where_it_is() -> None:
    rel, roots = _people()
    kp = project_points(rel + roots[:, None], INTR)
    xy = pixels_to_normalized(kp, INTR)
    fit_rel, fit_root = fit_to_rays(xy, rel, np.ones((4, 17), bool), roots, BONES)
    np.testing.assert_allclose(fit_rel, rel, atol=0.5)
    np.testing.assert_allclose(fit_root, roots, atol=0.5)


def test_joints_off_their_rays_move_onto_them_keeping_bone_lengths() -> None:
    true_rel, roots = _people(n=6, seed=1)
    kp = project_points(true_rel + roots[:, None], INTR)
    rng = np.random.default_rng(2)
    lifted = true_rel + rng.normal(0.0, 40.0, true_rel.shape)  # a lifter's error
    lifted[:, 0] = 0.0
    start = np.stack([place_in_camera(kp[i], lifted[i], np.ones(17, bool), INTR)[0][0]
                      for i in range(6)])
    fit_rel, fit_root = fit_to_rays(pixels_to_normalized(kp, INTR), lifted,
                                    np.ones((6, 17), bool), start, BONES,
                                    RayFitSettings(iterations=10))
    before = _reprojection_px(lifted, start, kp).mean()
    after = _reprojection_px(fit_rel, fit_root, kp).mean()
    assert after < 0.8 * before
    # closer to the truth, not only to the rays
    assert np.linalg.norm(fit_rel - true_rel, axis=-1).mean() < \
        np.linalg.norm(lifted - true_rel, axis=-1).mean()
    # bone lengths are a soft term: they change far less than the joints move
    moved = np.linalg.norm(fit_rel - lifted, axis=-1).mean()
    stretched = np.abs(_bone_lengths(fit_rel) - _bone_lengths(lifted)).mean()
    assert stretched < 0.25 * moved
    np.testing.assert_array_equal(fit_rel[:, 0], 0.0)


def test_people_that_cannot_be_fitted_come_back_unchanged() -> None:
    rel, roots = _people(n=3)
    kp = project_points(rel + roots[:, None], INTR)
    xy = pixels_to_normalized(kp, INTR)
    use = np.ones((3, 17), bool)
    use[1] = False
    use[1, 3] = True  # one joint: nothing to fit to
    roots_in = roots.copy()
    roots_in[2] = np.nan  # the solve failed
    noisy = rel + 30.0
    noisy[:, 0] = 0.0
    fit_rel, fit_root = fit_to_rays(xy, noisy, use, roots_in, BONES)
    np.testing.assert_array_equal(fit_rel[1:], noisy[1:])
    np.testing.assert_array_equal(fit_root[1], roots_in[1])
    assert np.isnan(fit_root[2]).all()
    assert not np.allclose(fit_rel[0], noisy[0])


def test_bone_lengths_are_those_of_each_bone() -> None:
    rel, _ = _people(n=3, seed=5)
    np.testing.assert_allclose(bone_lengths(rel, BONES), _bone_lengths(rel))
    np.testing.assert_allclose(bone_lengths(rel[0], BONES), _bone_lengths(rel[0]))


def test_given_bone_lengths_pull_the_fit_towards_them() -> None:
    true_rel, roots = _people(n=6, seed=6)
    kp = project_points(true_rel + roots[:, None], INTR)
    flat = true_rel.copy()
    flat[..., 2] *= 0.5  # a lifter that flattens depth: every bone with depth comes out short
    use = np.ones((6, 17), bool)
    start = np.stack([place_in_camera(kp[i], flat[i], use[i], INTR)[0][0] for i in range(6)])
    xy = pixels_to_normalized(kp, INTR)
    settings = RayFitSettings(sigma_2d_mm=10.0, iterations=10)
    own_rel, _ = fit_to_rays(xy, flat, use, start, BONES, settings)
    given_rel, _ = fit_to_rays(xy, flat, use, start, BONES, settings,
                               bone_lengths(true_rel, BONES))
    truth = _bone_lengths(true_rel)
    assert (np.abs(_bone_lengths(given_rel) - truth).mean()
            < 0.5 * np.abs(_bone_lengths(own_rel) - truth).mean())
    assert (np.linalg.norm(given_rel - true_rel, axis=-1).mean()
            < np.linalg.norm(own_rel - true_rel, axis=-1).mean())


def test_people_with_unknown_bone_lengths_come_back_unchanged() -> None:
    rel, roots = _people(n=2, seed=7)
    kp = project_points(rel + roots[:, None], INTR)
    noisy = rel + 30.0
    noisy[:, 0] = 0.0
    lengths = bone_lengths(rel, BONES)
    lengths[1, 4] = np.nan
    fit_rel, fit_root = fit_to_rays(pixels_to_normalized(kp, INTR), noisy,
                                    np.ones((2, 17), bool), roots, BONES, None, lengths)
    np.testing.assert_array_equal(fit_rel[1], noisy[1])
    np.testing.assert_array_equal(fit_root[1], roots[1])
    assert not np.allclose(fit_rel[0], noisy[0])
    with pytest.raises(ValueError, match="bone_lengths_mm"):
        fit_to_rays(pixels_to_normalized(kp, INTR), noisy, np.ones((2, 17), bool), roots, BONES,
                    None, lengths[:, :5])


def test_bad_settings_and_shapes_are_refused() -> None:
    with pytest.raises(ValueError, match="sigma_3d_mm"):
        RayFitSettings(sigma_3d_mm=0.0)
    with pytest.raises(ValueError, match="iterations"):
        RayFitSettings(iterations=0)
    rel, roots = _people(n=2)
    with pytest.raises(ValueError, match="root_mm"):
        fit_to_rays(np.zeros((2, 17, 2)), rel, np.ones((2, 17), bool), roots[:1], BONES)


def test_solve_is_the_least_squares_placement_and_ray_fit_refines_it() -> None:
    true_rel, roots = _people(n=3, seed=3)
    kp = project_points(true_rel + roots[:, None], INTR)
    rng = np.random.default_rng(4)
    lifted = true_rel + rng.normal(0.0, 40.0, true_rel.shape)
    lifted[:, 0] = 0.0
    valid = np.ones((3, 17), bool)
    valid[1, 10:] = False
    abs_s, rel_s, methods = place_poses(kp, lifted, valid, INTR, placement="solve")
    for i in range(3):
        want, method = place_in_camera(kp[i], lifted[i], valid[i], INTR)
        np.testing.assert_array_equal(abs_s[i], want)
        assert methods[i] == method
    np.testing.assert_array_equal(rel_s, lifted)
    abs_f, rel_f, methods_f = place_poses(kp, lifted, valid, INTR)
    assert methods_f == methods
    np.testing.assert_allclose(abs_f, rel_f + abs_f[:, :1], atol=1e-9)
    np.testing.assert_allclose(rel_f[:, 0], 0.0, atol=1e-9)
    err_s = np.linalg.norm(rel_s - true_rel, axis=-1).mean()
    err_f = np.linalg.norm(rel_f - true_rel, axis=-1).mean()
    assert err_f < err_s


def test_joints_outside_the_image_are_not_evidence() -> None:
    rel, roots = _people(n=1, seed=5)
    kp = project_points(rel + roots[:, None], INTR)
    wrong = kp.copy()
    wrong[0, 16] = [1500.0, 100.0]  # a wrist 2D far outside a 1280 × 720 image
    noisy = rel.copy()
    noisy[0, 1:] += 20.0
    inside, _, _ = place_poses(wrong, noisy, np.ones((1, 17), bool), INTR, (1280, 720))
    clean, _, _ = place_poses(kp, noisy, np.ones((1, 17), bool), INTR, (1280, 720))
    # the out-of-image wrist is not pulled towards its (wrong) ray
    np.testing.assert_allclose(inside[0, 16], clean[0, 16], atol=30.0)


def test_failed_placements_stay_nan_and_empty_input_is_fine() -> None:
    rel, roots = _people(n=2)
    kp = project_points(rel + roots[:, None], INTR)
    valid = np.ones((2, 17), bool)
    valid[1] = False
    valid[1, 0] = True
    abs_mm, rel_out, methods = place_poses(kp, rel, valid, INTR)
    assert methods[1] == "failed" and np.isnan(abs_mm[1]).all()
    np.testing.assert_array_equal(rel_out[1], rel[1])
    abs0, rel0, methods0 = place_poses(np.zeros((0, 17, 2)), np.zeros((0, 17, 3)),
                                       np.zeros((0, 17), bool), INTR)
    assert abs0.shape == (0, 17, 3) and rel0.shape == (0, 17, 3) and methods0 == []


def test_unknown_placements_are_named() -> None:
    assert set(PLACEMENTS) == {"ray_fit", "solve"}
    assert check_placement("solve") == "solve"
    with pytest.raises(ValueError, match="--placement: expected one of ray_fit, solve, got 'x'"):
        check_placement("x", "--placement")


def test_ray_fit_places_by_a_root_that_trusts_the_trunk_over_the_limbs_ends() -> None:
    assert ROOT_JOINT_WEIGHTS.shape == (17,) and ROOT_JOINT_WEIGHTS[0] == 1.0
    ends = [H36M17.index(n) for n in ("l_wrist", "r_wrist", "l_ankle", "r_ankle", "head_top")]
    assert ROOT_JOINT_WEIGHTS[ends].max() < ROOT_JOINT_WEIGHTS[[0, 1, 4, 7]].min()
    true_rel, roots = _people(n=16, seed=6)
    kp = project_points(true_rel + roots[:, None], INTR)
    lifted = true_rel.copy()
    # the lifter flattens the limbs' ends towards the body's plane (their depth is unsure)
    lifted[:, ends, 2] *= 0.3
    valid = np.ones((16, 17), bool)
    solved, _, _ = place_poses(kp, lifted, valid, INTR, placement="solve")
    fitted, _, _ = place_poses(kp, lifted, valid, INTR)
    err_solve = np.linalg.norm(solved[:, 0] - roots, axis=-1).mean()
    err_fit = np.linalg.norm(fitted[:, 0] - roots, axis=-1).mean()
    assert err_fit < err_solve


def test_gauss_newton_reaches_the_minimum_of_the_stated_objective() -> None:
    from scipy.optimize import minimize

    true_rel, roots = _people(n=1, seed=7)
    kp = project_points(true_rel + roots[:, None], INTR)
    xy = pixels_to_normalized(kp, INTR)[0]
    rng = np.random.default_rng(8)
    lifted = true_rel + rng.normal(0.0, 50.0, true_rel.shape)
    lifted[:, 0] = 0.0
    use = np.ones(17, bool)
    use[[3, 13]] = False
    s = RayFitSettings()
    child, parent = (list(c) for c in zip(*BONES, strict=True))
    length0 = np.linalg.norm(lifted[0, child] - lifted[0, parent], axis=-1)

    def objective(q: np.ndarray) -> float:  # the module docstring's sum, written out again
        pose = np.vstack([np.zeros(3), q[:-3].reshape(16, 3)])
        cam = pose + q[-3:]
        ray = cam[:, :2] - xy * cam[:, 2:]
        length = np.linalg.norm(pose[child] - pose[parent], axis=-1)
        return float((ray[use] ** 2).sum() / s.sigma_2d_mm ** 2
                     + ((pose - lifted[0]) ** 2).sum() / s.sigma_3d_mm ** 2
                     + ((length - length0) ** 2).sum() / s.sigma_bone_mm ** 2)

    fit_rel, fit_root = fit_to_rays(xy[None], lifted, use[None], roots, BONES,
                                    RayFitSettings(iterations=10))
    ours = objective(np.r_[fit_rel[0, 1:].ravel(), fit_root[0]])
    start = np.r_[lifted[0, 1:].ravel(), roots[0]]
    best = minimize(objective, start, method="L-BFGS-B", options={"maxiter": 5000,
                                                                   "ftol": 1e-15}).fun
    assert ours < objective(start)
    assert ours <= best * (1 + 1e-3) + 1e-6


def test_a_doubtful_joint_pulls_the_fit_less() -> None:
    """A knee whose 2D is 80 px off: with full confidence the fit drags the pose (and the root)
    towards it; scored 0.05 it hardly moves them. Ones are the same as no scores."""
    true_rel, roots = _people(n=1, seed=6)
    kp = project_points(true_rel + roots[:, None], INTR)
    knee = H36M17.index("l_knee")
    wrong = kp.copy()
    wrong[0, knee, 1] -= 80.0
    valid = np.ones((1, 17), bool)
    sure = np.ones((1, 17))
    doubt = sure.copy()
    doubt[0, knee] = 0.05
    abs_none, rel_none, _ = place_poses(wrong, true_rel, valid, INTR)
    abs_sure, rel_sure, _ = place_poses(wrong, true_rel, valid, INTR, scores=sure)
    np.testing.assert_allclose(abs_sure, abs_none, atol=1e-6)
    abs_doubt, rel_doubt, _ = place_poses(wrong, true_rel, valid, INTR, scores=doubt)
    knee_moved = np.linalg.norm(rel_sure[0, knee] - true_rel[0, knee])
    assert np.linalg.norm(rel_doubt[0, knee] - true_rel[0, knee]) < 0.3 * knee_moved
    assert np.linalg.norm(abs_doubt[0, 0] - roots[0]) < np.linalg.norm(abs_sure[0, 0] - roots[0])
    with pytest.raises(ValueError, match="confidence"):
        fit_to_rays(pixels_to_normalized(kp, INTR), true_rel, valid, roots, BONES,
                    confidence=np.ones((1, 16)))
