"""The course policy in one place: sessions, deadlines, starred exercises, scoring, caps, timeouts.

Plain module-level values, one comment each. ``autograder.policy.load_policy`` reads this
file, rejects unknown names and wrong types with a clear message, and hands the grader a
typed ``Policy``. Edit the values here; never copy them elsewhere.
"""

# --- Sessions -------------------------------------------------------------------------------
# One entry per practical, keyed by its folder name in solutions/ and notebooks/.
#   title        what students see in reports
#   class_date   the day of the class (YYYY-MM-DD)
#   release      when the notebook is published to students, local time in TIMEZONE
#                (`make student-bundle` ships the sessions released by then); never after
#                the deadline
#   deadline     submission deadline, local time in TIMEZONE (YYYY-MM-DD HH:MM[:SS]);
#                "always submit a notebook after class": the default is the end of class day
#   starred      exercises marked (*): required for a score above STARRED_CAP
SESSIONS = {
    "01_micrograd": {
        "title": "micrograd",
        "class_date": "2025-02-05",
        "release": "2025-02-05 08:00:00",
        "deadline": "2025-02-05 23:59:59",
        "starred": [],
    },
    "02_makemore": {
        "title": "makemore: bigram and MLP",
        "class_date": "2025-02-12",
        "release": "2025-02-12 08:00:00",
        "deadline": "2025-02-12 23:59:59",
        "starred": [],
    },
    "03_backprop": {
        "title": "backprop ninja, MLP in torch.nn, batchnorm, MLP for MNIST",
        "class_date": "2025-02-19",
        "release": "2025-02-19 08:00:00",
        "deadline": "2025-02-19 23:59:59",
        "starred": ["mlp_torch", "batchnorm", "mlp_bn"],
    },
    "04_gpt": {
        "title": "GPT from scratch",
        "class_date": "2025-03-05",
        "release": "2025-03-05 08:00:00",
        "deadline": "2025-03-05 23:59:59",
        "starred": ["head", "multihead", "feedforward", "block", "gpt", "generate",
                    "estimate_loss", "train_step"],
    },
    "05_convnets": {
        "title": "convnets for Fashion-MNIST",
        "class_date": "2025-03-12",
        "release": "2025-03-12 08:00:00",
        "deadline": "2025-03-12 23:59:59",
        "starred": ["convnet", "evaluate"],
    },
    "06_diffusion": {
        "title": "1D and 2D diffusion",
        "class_date": "2025-03-19",
        "release": "2025-03-19 08:00:00",
        "deadline": "2025-03-19 23:59:59",
        "starred": ["gaussian_baseline", "diffusion_2d"],
    },
    "07_quiz": {
        "title": "closing quiz",
        "class_date": "2025-03-19",
        "release": "2025-03-19 08:00:00",
        "deadline": "2025-03-19 23:59:59",
        "starred": [],
    },
}

TIMEZONE = "Europe/Paris"  # the zone of every deadline above (IANA name)

# --- Exercises ------------------------------------------------------------------------------
# A test cell belongs to the exercise named by its nbgrader grade_id up to the first "__":
# grade_id "value_ops__hidden" belongs to exercise "value_ops". An exercise is done when all
# of its test cells pass.
EXERCISE_SEPARATOR = "__"  # splits an exercise name from the rest of a grade_id

# --- Score ----------------------------------------------------------------------------------
MAX_SCORE = 4  # notebooks are scored from 0 to MAX_SCORE
ROUNDING = "half_up"  # points/max_points * MAX_SCORE rounded: "half_up", "down" or "up"

# --- Caps -----------------------------------------------------------------------------------
STARRED_CAP = 2  # highest score while any starred exercise is not done
LATE_CAP = 1  # highest score of a submission after its session's deadline
MISSING_SCORE = 0  # score of a session with no submission at all
# A submission without a submission time (no timestamp.txt, or one that cannot be read):
#   "review"   held for review: its row has status review and no score until you decide
#   "on_time"  graded as if on time (the row says so)
#   "late"     graded as late (capped at LATE_CAP)
MISSING_TIMESTAMP = "review"

# --- Extensions -----------------------------------------------------------------------------
# Per-student deadlines, local time in TIMEZONE, each later than the session's own:
#   EXTENSIONS = {"alice": {"03_backprop": "2025-02-22 23:59:59"}}
# A submission before the extended deadline is on time; the row and the gradebook show it.
EXTENSIONS: dict[str, dict[str, str]] = {}

# --- Execution ------------------------------------------------------------------------------
CELL_TIMEOUT_S = 60  # longest a single cell may run while grading (then the kernel is stopped)
NOTEBOOK_TIMEOUT_S = 600  # longest a whole notebook may run while grading
MEMORY_LIMIT_MB = 4096  # address space of a grading kernel; beyond it allocations fail
