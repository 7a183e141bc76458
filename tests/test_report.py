"""Figures and the report of ptune-exp-compare, on hand-made records (tests/report_fixtures.py): one
colour per method in every figure, score against cost with its Pareto front, legends clear of the
data, the HTML report and its Markdown twin, LaTeX with booktabs and chosen columns."""

import base64
import json
import re
import shutil
import subprocess

import pytest
from matplotlib.colors import to_hex

from ptune_exp.compare import build_tables, plots
from ptune_exp.compare import main as compare_main
from ptune_exp.compare.grid import tex
from ptune_exp.compare.style import colour_of, identity, styles
from ptune_exp.runs.records import read_records
from report_fixtures import RUNS, record, write_runs


@pytest.fixture
def table(tmp_path):
    (t,) = build_tables(read_records([str(write_runs(tmp_path / "runs"))]))
    return t


def test_rows_of_one_table_never_share_colour_and_marker(table):
    drawn = [(s.colour, s.marker) for s in styles(table)]
    assert len(drawn) == len(table.rows) == len(RUNS) and len(set(drawn)) == len(drawn)
    by_method = {}
    for row, style in zip(table.rows, styles(table)):
        by_method.setdefault(identity(row), set()).add(style.colour)
    assert all(len(colours) == 1 for colours in by_method.values())  # a method's settings differ by marker
    assert len({c for colours in by_method.values() for c in colours}) == len(by_method)  # methods by colour
    many = table.rows * 12  # 72 rows, 24 of one colour: colour and marker stay unique past the 10 markers
    pairs = [(s.colour, s.marker) for s in styles(type(table)(**{**vars(table), "rows": many}))]
    assert len(set(pairs)) == len(pairs)


def test_a_methods_colour_does_not_depend_on_the_other_rows(tmp_path, table):
    (alone,) = build_tables(read_records([str(write_runs(tmp_path / "fft", runs=RUNS[:1]))]))
    assert styles(alone)[0].colour == styles(table)[0].colour == colour_of("fft")
    assert colour_of("ptv2") != colour_of("ptv2", "reparam") != colour_of("pt")
    assert colour_of("some-new-method") == colour_of("some-new-method")  # not Python's per-process hash


def _legend_colours(fig) -> dict[str, str]:
    """label -> colour of what each legend entry stands for (bars, points with error bars, lines)."""
    out = {}
    for ax in fig.axes:
        for handle, label in zip(*ax.get_legend_handles_labels()):
            if hasattr(handle, "patches"):  # bars
                colour = handle.patches[0].get_facecolor()
            else:  # points with error bars, or a line
                colour = (handle.lines[0] if hasattr(handle, "lines") else handle).get_color()
            out.setdefault(label, set()).add(to_hex(colour))
    return out


def _overlaps(a, b) -> bool:
    return a.x0 < b.x1 and b.x0 < a.x1 and a.y0 < b.y1 and b.y0 < a.y1


@pytest.fixture
def figures(table, tmp_path, monkeypatch):
    """Every figure plot_all draws for the table, kept open: {file name: figure}."""
    kept, close = {}, plots.plt.close
    monkeypatch.setattr(plots, "_save", lambda fig, path: (fig.savefig(path), kept.__setitem__(path, fig)))
    written = plots.plot_all([table], str(tmp_path / "plots"))
    yield {p.rsplit("/", 1)[1]: kept[p] for p in written}
    for fig in kept.values():
        close(fig)


def test_one_method_one_colour_in_every_figure(table, figures):
    kinds = ("prefix_len", "learning_curve", "cost")
    assert sorted(figures) == sorted([f"{k}_m_{t}.png" for k in kinds for t in ("cola", "rte")] + ["methods_m.png"])
    expected = {
        "Fine-tuning": colour_of("fft"),
        "Prompt tuning": colour_of("pt"),
        "P-Tuning v2 + reparam": colour_of("ptv2", "reparam"),
        "P-Tuning v2": colour_of("ptv2"),
    }
    for name, fig in figures.items():
        entries = {label: c for label, c in _legend_colours(fig).items() if label != "Pareto front"}
        assert len(entries) >= 4, name
        for label, colours in entries.items():
            method = next(m for m in expected if label.startswith(m))  # "+ reparam" is tried first
            assert colours == {expected[method].lower()}, (name, label)


def test_legends_do_not_cover_the_data(figures):
    for name, fig in figures.items():
        fig.canvas.draw()
        legends = [*fig.legends, *(ax.get_legend() for ax in fig.axes if ax.get_legend())]
        assert legends, name
        for legend in legends:
            for ax in fig.axes:
                assert not _overlaps(legend.get_window_extent(), ax.get_window_extent()), name


def test_pareto_front_on_a_hand_made_case():
    points = [(1, 50), (2, 60), (2, 55), (3, 60), (0.5, 40), (4, 70), (4, 70), (5, 65)]
    # (2, 55) and (3, 60) are beaten by (2, 60); (5, 65) by (4, 70); the two equal (4, 70) both stand
    assert plots.pareto_front(points) == [4, 0, 1, 5, 6]
    assert plots.pareto_front([(1, 1)]) == [0] and plots.pareto_front([]) == []


def test_score_against_cost_reads_the_records(table, figures):
    memory = {(r.label, x, y) for r, _, x, y, _ in plots.cost_points(table, "rte", plots.COSTS[1][1])}
    assert ("Prompt tuning", 380.0, 55.5) in memory and ("Fine-tuning [train.epochs=10]", 900.0, 70.5) in memory
    axes = figures["cost_m_rte.png"].axes
    assert [ax.get_xlabel() for ax in axes] == [
        "trainable parameters, %",
        "peak memory, MB (cpu_tracemalloc)",
        "training step time, s",
    ]
    front = next(line for line in axes[0].get_lines() if line.get_label() == "Pareto front")
    assert list(front.get_xdata()) == [0.01, 0.1, 0.3, 100.0]  # pt, ptv2 4, ptv2 16, fft 10 ep


def test_without_cost_fields_only_the_trainable_share_is_drawn(tmp_path):
    for seed, (method, pct, score) in enumerate([("fft", 100.0, 70.0), ("pt", 0.01, 60.0)], 1):
        rec = {k: v for k, v in record(method, False, 3, 0, pct, 1, 1, "rte", score, seed).items() if k != "cost"}
        (tmp_path / str(seed)).mkdir()
        (tmp_path / str(seed) / "metrics.json").write_text(json.dumps(rec))
    (t,) = build_tables(read_records([str(tmp_path)]))
    assert plots.cost_plot(t, "rte", str(tmp_path / "cost.png"))
    assert plots.cost_points(t, "rte", plots.COSTS[1][1]) == []


def test_report_is_one_html_page_with_the_tables_figures_and_runs_and_a_markdown_twin(tmp_path, capsys):
    runs = write_runs(tmp_path / "runs")
    hydra = runs / "0-fft-rte-s1" / ".hydra"
    hydra.mkdir()
    (hydra / "overrides.yaml").write_text("- method=fft\n- task=rte\n- train.epochs=2\n")
    assert compare_main([str(runs), "--variants", "--report", str(tmp_path / "report")]) == 0
    page = (tmp_path / "report" / "report.html").read_text()
    images = re.findall(r'src="data:image/png;base64,([^"]+)"', page)
    assert len(images) == 7 and all(base64.b64decode(i)[:4] == b"\x89PNG" for i in images)
    assert not re.search(r'(src|href)="(?!data:)', page)  # nothing outside the page
    assert "<strong>70.5 ± 0.7 (n=2)</strong>" in page and "<td>42.5 ± 0.7 (n=2)</td>" in page
    assert "ptune-exp method=fft task=rte train.epochs=2</code>" in page  # Hydra's own record of the command
    assert "ptune-exp model=m task=cola method=pt seed=2  # reconstructed" in page
    assert page.count("<code>ptune-exp ") == 2 * len(RUNS) * 2 and "0123456789ab" in page
    assert "&quot;source&quot;: &quot;generated&quot;" in page  # provenance
    twin = (tmp_path / "report" / "report.md").read_text()
    assert "| Fine-tuning [train.epochs=10] | **50.5 ± 0.7 (n=2)** | **70.5 ± 0.7 (n=2)** |" in twin
    for name in re.findall(r"\]\((figures/[^)]+)\)", twin):
        assert (tmp_path / "report" / name).is_file()
    assert "![cost_m_rte.png](figures/cost_m_rte.png)" in twin and "`ptune-exp method=fft task=rte" in twin
    assert (tmp_path / "report" / "tables.tex").read_text().count("\\toprule") == 1
    assert "<h2>Cost: m</h2>" in page and "## Cost: m" in twin  # the fixture records carry cost fields
    assert "| step s | ×FT |" in twin.split("## Cost: m", 1)[1]


def test_latex_has_booktabs_rules_and_the_chosen_columns(tmp_path, capsys):
    runs = write_runs(tmp_path / "runs")
    path = tmp_path / "t.tex"
    assert compare_main([str(runs), "--variants", "--latex", str(path), "--columns", "rte, trainable %"]) == 0
    text = path.read_text()
    assert "\\hline" not in text and [text.count(r) for r in ("\\toprule", "\\midrule", "\\bottomrule")] == [1, 1, 1]
    lines = [line for line in text.splitlines() if line.endswith(" \\\\")]
    assert lines[0] == "method & rte acc [dev] & trainable \\% \\\\"
    assert "Fine-tuning [train.epochs=10] & \\textbf{70.5 $\\pm$ 0.7 (n=2)} & 100 \\\\" in lines
    assert len(lines) == 1 + len(RUNS) and all(line.count(" & ") == 2 for line in lines)
    assert compare_main([str(runs), "--latex", str(path), "--columns", "rte,nope"]) == 2
    assert "--columns: no column named 'nope'" in capsys.readouterr().err


def test_latex_escapes_every_special_character():
    assert tex("a_b & 5% #1 {x} $y ~z ^w \\v") == (
        "a\\_b \\& 5\\% \\#1 \\{x\\} \\$y \\textasciitilde{}z \\textasciicircum{}w \\textbackslash{}v"
    )
    assert tex("1.0 ± 0.1 Δ+2 LoRA † (IA)³") == "1.0 $\\pm$ 0.1 $\\Delta$+2 LoRA $^\\dagger$ (IA)$^3$"


@pytest.mark.skipif(shutil.which("pdflatex") is None, reason="pdflatex is not installed")
def test_latex_compiles(tmp_path, capsys):
    runs = write_runs(tmp_path / "runs")
    odd = json.loads((runs / "0-fft-rte-s1" / "metrics.json").read_text())
    odd["method_title"] = "Fine_tuning & co. {100%} #1 ~$^"  # every special character in a row label
    (runs / "0-fft-rte-s1" / "metrics.json").write_text(json.dumps(odd))
    assert compare_main([str(runs), "--latex", str(tmp_path / "t.tex"), "--delta"]) == 0
    doc = "\\documentclass{article}\\usepackage{booktabs}\\usepackage[margin=1cm,landscape]{geometry}"
    (tmp_path / "doc.tex").write_text(doc + "\\begin{document}\\tiny\\input{t.tex}\\end{document}\n")
    out = subprocess.run(
        ["pdflatex", "-interaction=nonstopmode", "-halt-on-error", "doc.tex"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stdout[-3000:]
    assert (tmp_path / "doc.pdf").stat().st_size > 1000
