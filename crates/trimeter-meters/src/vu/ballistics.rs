//! Exact discretization of a second-order movement: y'' + 2 zeta omega y' + omega^2 y =
//! omega^2 u, with u held constant over each step (zero-order hold).

/// Below this magnitude the pointer state is flushed to zero, so a meter at rest reads exactly
/// silence and the state never turns subnormal. 1e-12 deflection is -240 VU.
const REST: f64 = 1e-12;

/// One step of the movement: `[y, y'] <- A [y, y'] + B u`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) struct Movement {
    /// State transition over one step.
    a: [[f64; 2]; 2],
    /// Input gain over one step.
    b: [f64; 2],
}

impl Movement {
    /// The movement with natural frequency `omega_rad_per_s`, damping ratio `zeta`, stepped
    /// every `step_s` seconds.
    pub(super) fn new(omega_rad_per_s: f64, zeta: f64, step_s: f64) -> Self {
        let w = omega_rad_per_s;
        // Augmented system [[A, B], [0, 0]]: its exponential holds exp(A T) and the integral
        // of exp(A t) B over the step, i.e. the zero-order-hold discretization.
        let m = [
            [0.0, 1.0, 0.0],
            [-w * w, -2.0 * zeta * w, w * w],
            [0.0, 0.0, 0.0],
        ];
        let e = expm3(scale3(&m, step_s));
        Self {
            a: [[e[0][0], e[0][1]], [e[1][0], e[1][1]]],
            b: [e[0][2], e[1][2]],
        }
    }

    /// Advances `state` ([deflection, velocity]) by one step with input `u`.
    #[inline]
    pub(super) fn step(&self, state: [f64; 2], u: f64) -> [f64; 2] {
        let y = self.a[0][0] * state[0] + self.a[0][1] * state[1] + self.b[0] * u;
        let v = self.a[1][0] * state[0] + self.a[1][1] * state[1] + self.b[1] * u;
        if y.abs() < REST && v.abs() < REST && u == 0.0 {
            [0.0, 0.0]
        } else {
            [y, v]
        }
    }
}

type M3 = [[f64; 3]; 3];

fn scale3(m: &M3, s: f64) -> M3 {
    let mut out = *m;
    for row in &mut out {
        for v in row {
            *v *= s;
        }
    }
    out
}

fn mul3(a: &M3, b: &M3) -> M3 {
    let mut out = [[0.0; 3]; 3];
    for (i, row) in out.iter_mut().enumerate() {
        for (j, v) in row.iter_mut().enumerate() {
            *v = (0..3).map(|k| a[i][k] * b[k][j]).sum();
        }
    }
    out
}

/// Matrix exponential by scaling and squaring with a Taylor series (the steps we use have a
/// norm well below 1, where 20 terms are exact to f64 precision).
fn expm3(m: M3) -> M3 {
    let norm = m.iter().flatten().fold(0.0f64, |a, v| a.max(v.abs()));
    let squarings = if norm > 0.5 {
        (norm / 0.5).log2().ceil() as u32
    } else {
        0
    };
    let m = scale3(&m, 0.5f64.powi(squarings as i32));
    let mut result = [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]];
    let mut term = result;
    for k in 1..=20 {
        term = scale3(&mul3(&term, &m), 1.0 / k as f64);
        for i in 0..3 {
            for j in 0..3 {
                result[i][j] += term[i][j];
            }
        }
    }
    for _ in 0..squarings {
        result = mul3(&result, &result);
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn step_response_settles_at_one_with_the_designed_overshoot() {
        let movement = Movement::new(13.51193, 0.812717, 0.001);
        let mut state = [0.0, 0.0];
        let mut peak = 0.0f64;
        for _ in 0..3000 {
            state = movement.step(state, 1.0);
            peak = peak.max(state[0]);
        }
        assert!((state[0] - 1.0).abs() < 1e-9);
        assert!((peak - 1.0125).abs() < 1e-4, "{peak}");
    }
}
