"""Tutorial step 5 (docs/tutorial.md): fit the SIR model to the 1978 boarding-school influenza outbreak.

763 boys, one index case, and the daily count of boys confined to bed (BMJ 1978;1:587). The fit
gives the infection rate beta and the recovery rate gamma, hence R0 = beta / gamma and the
infectious period 1 / gamma, to compare with Murray's estimates (Mathematical Biology: R0 = 3.77,
2.3 days).

Run: .venv/bin/python examples/tutorial_5_calibration.py [--out DIR] [--quick]
"""

from __future__ import annotations

from _tutorial import claim, options

from aftermath.calibrate import calibrate

MURRAY_R0, MURRAY_DAYS = 3.77, 2.3
PRIORS = {"pathogen.beta": (0.5, 4.0), "defence.decay": (0.1, 1.5)}  # uniform, per day


def main(argv: list[str] | None = None) -> None:
    a = options(__doc__, argv)
    # the built-in scenario and the shipped data set are both called "boarding-school"
    fit = calibrate("boarding-school", "boarding-school", PRIORS, likelihood="normal",
                    trials=8 if a.quick else 60, samples=160 if a.quick else 4000, seed=0)
    post = fit.posterior
    r0 = post["pathogen.beta"] / post["defence.decay"]
    days = 1.0 / post["defence.decay"]
    print(f"best fit: beta = {fit.best['pathogen.beta']:.3f}/day, gamma = {fit.best['defence.decay']:.3f}/day")
    print(f"R0 = {r0.median():.2f} (90% interval {r0.quantile(0.05):.2f} to {r0.quantile(0.95):.2f}); "
          f"Murray: {MURRAY_R0}")
    print(f"infectious period = {days.median():.2f} days (90% interval {days.quantile(0.05):.2f} to "
          f"{days.quantile(0.95):.2f}); Murray: {MURRAY_DAYS}")
    claim(abs(r0.median() / MURRAY_R0 - 1) < 0.1, "the fitted R0 is within 10% of Murray's")
    claim(abs(days.median() / MURRAY_DAYS - 1) < 0.1, "the fitted infectious period is within 10% of Murray's")
    fit.plot(a.out / "tutorial_5_calibration.png")
    print(f"figure: {a.out / 'tutorial_5_calibration.png'}")


if __name__ == "__main__":
    main()
