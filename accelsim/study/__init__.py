"""The paper-specific orchestration, on the top floor: the report (the README's main job, run
through the sweep store), the question study, the comparison with the published tables, and the
figure recipes of ``accelsim plot``."""
