"""A scored timeline: one row per utterance (times, words, each label's probability), as JSON, CSV or a table."""
from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass, field
from typing import Any


@dataclass
class TimelineRow:
    index: int
    start: float
    end: float
    text: str
    scores: dict[str, dict[str, float]]  # task -> label -> probability
    predicted: dict[str, list[str]]  # task -> labels above threshold / the argmax
    present: dict[str, bool]
    notes: list[str]


@dataclass
class Timeline:
    video: str
    duration: float
    source: str
    engine: str
    labels: dict[str, list[str]]  # task -> labels
    rows: list[TimelineRow]
    notes: list[str]
    timings: dict[str, float]
    results: dict[str, list] = field(default_factory=dict, repr=False)  # task -> PredictionResult per row (not saved)

    def to_dict(self) -> dict[str, Any]:
        return {"video": self.video, "duration": round(self.duration, 3), "utterances_from": self.source,
                "transcribed_by": self.engine, "labels": self.labels, "notes": self.notes,
                "timings": {k: round(v, 3) for k, v in self.timings.items()},
                "utterances": [{"index": r.index, "start": round(r.start, 3), "end": round(r.end, 3), "text": r.text,
                                "present": r.present, "notes": r.notes,
                                **{task: {"probabilities": {k: round(v, 5) for k, v in r.scores[task].items()},
                                          "predicted": r.predicted[task]} for task in self.labels}}
                               for r in self.rows]}

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=1, ensure_ascii=False)

    def to_csv(self) -> str:
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        header = ["index", "start", "end", "text"]
        for task, labels in self.labels.items():
            header += [f"{task}:{label}" for label in labels] + [f"{task}:predicted"]
        writer.writerow(header)
        for r in self.rows:
            row = [r.index, f"{r.start:.3f}", f"{r.end:.3f}", r.text]
            for task, labels in self.labels.items():
                row += [f"{r.scores[task][label]:.5f}" for label in labels] + [";".join(r.predicted[task])]
            writer.writerow(row)
        return buffer.getvalue()

    def table(self, task: str) -> list[list]:
        """Rows for a table view: #, start, end, words, predicted, then each label's probability."""
        return [[r.index, round(r.start, 2), round(r.end, 2), r.text, ", ".join(r.predicted[task]),
                 *[round(r.scores[task][l], 3) for l in self.labels[task]]] for r in self.rows]
