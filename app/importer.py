"""Import an existing script's opening as the start of a season (`cliffhanger new DIR --from FILE`).

Most micro-dramas are adapted from web novels and scripts: the writer brings the first episodes and the
room continues them. `import_script` reads Fountain (with screenplain, the real parser) or plain text
(`NAME: line`, `角色（动作）：台词`, `△ action`, scene headings like `1-1 内 客厅 夜` or `INT. HALL - NIGHT`),
splits it into episodes (`# Episode N` / `# 第N集` sections, `第N集` lines, `集-场` scene numbers, or
else chunks of about `runtime` seconds by `EpisodeScript.estimate_runtime_s`), and writes a season folder:

- season.toml from the flags; bible.json/bible.md: premise from the title page or the first action, one
  character per dialogue cue (extensions like (V.O.) and (CONT'D) stripped; `SHUYA` folded into
  `QIN SHUYA` as an alias; non-ascii names get ids `char_N` with the name kept), the most-speaking one
  the protagonist; locations from scene headings. Visual descriptors say "to be described": fill them
  (bible.json) before generating video. No secrets: the importer cannot know them.
- episodes/NNN/script.json (+ script.fountain, review.json marked `imported_from`) for each imported
  episode, as accepted episodes; at most `episodes - 1` so the season has room to continue.
- canon.sqlite: `seed_canon` plus a presence fact per on-screen character per scene (the line as
  evidence), and per episode an `ending` and a `summary` document, so the writer's context for the first
  new episode starts from where the imported script ends.
- plan/imported.json: an arc row per imported episode (logline from the first action, beats from the
  scene headings, opening hook / payoff / cliffhanger from the first and last lines, paywall flag from
  the spec; cliffhanger kind `imported`, not a genre-pack kind) and where each episode came from
  (source lines, estimated runtime).

How the room continues: `cliffhanger draft DIR` keeps the bible (it only plans one when bible.json is
missing), plans the season's acts and arc.json for all episodes 1..N, skips the accepted (imported)
episodes and drafts from the first missing one, with the last imported ending in the writer's context.
The showrunner should honour plan/imported.json: copy its rows as arc rows 1..k (they describe what
already happened) and plan k+1..N as their continuation. arc.json cannot be written here because an
ArcPlan must cover every episode of the season. lore/ is rebuilt from the ledger (`canon reindex`).
"""

from cliffhanger.app.import_build import import_script
from cliffhanger.app.import_parse import ParsedScript, normalise_cue, parse_script, split_cue, split_episodes

__all__ = ["ParsedScript", "import_script", "normalise_cue", "parse_script", "split_cue", "split_episodes"]
