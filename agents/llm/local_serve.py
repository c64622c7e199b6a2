"""The bundled model's server process: llama-cpp-python's OpenAI-compatible server, made safe to run.

Started by `LocalServer` as `python -m cliffhanger.agents.llm.local_serve ARGS` (the arguments of
`python -m llama_cpp.server`). Two things differ from running llama-cpp-python's server directly, and
both are why this module exists:

- Weights are loaded without llama.cpp's "extra buffer types" (AMX and repacked layouts). On CPUs with
  AMX (Intel Sapphire Rapids and later) the AMX matrix multiply of llama-cpp-python 0.3.36 crashes the
  process with SIGSEGV on the first decode of a Q4_K model: every request then fails with "cannot
  reach the server". The plain CPU path is correct everywhere and fast enough for a 270M model.
- Grammar-constrained sampling checks the grammar against the few most likely tokens first, the whole
  vocabulary only when none of them fits. llama-cpp-python runs the grammar over all 262,144 tokens of
  Gemma's vocabulary for every token it samples: 76 ms a token for the bible's grammar on two cores,
  44 ms with this, 36 ms with no grammar at all. Tokens outside the top candidates have a vanishing
  share of the probability after top-k anyway: the answer is sampled from the same distribution,
  restricted to what the grammar allows (llama.cpp's own server also samples first and checks after).
- Nothing here runs at import time; `main()` does the patches and hands over to llama-cpp-python.
"""

from __future__ import annotations

import ctypes
from typing import Any

TOP_CANDIDATES = 256  # tokens checked against the grammar before falling back to the whole vocabulary


def _without_extra_buffer_types() -> None:
    import llama_cpp.llama_cpp as capi

    default = capi.llama_model_default_params
    if getattr(default, "_cliffhanger_plain_cpu", False):
        return

    def plain_cpu_params():  # type: ignore[no-untyped-def]
        params = default()
        if hasattr(params, "use_extra_bufts"):
            params.use_extra_bufts = False
        return params

    plain_cpu_params._cliffhanger_plain_cpu = True  # type: ignore[attr-defined]
    capi.llama_model_default_params = plain_cpu_params


class _GrammarAfterTopCandidates:
    """A sampler for `Llama.sample`: the grammar over the top candidates, then the usual chain.

    `chain` is llama-cpp-python's own sampler chain built without the grammar (penalties, top-k,
    top-p, min-p, temperature, distribution); `grammar` a standalone llama.cpp grammar sampler. Both
    accept every sampled token, as `llama_sampler_sample` would have done for the combined chain.
    """

    def __init__(self, chain: Any, llama: Any, grammar: Any) -> None:
        import llama_cpp.llama_cpp as capi
        import numpy as np

        self._capi, self._np = capi, np
        self.chain = chain  # keeps the chain (and its custom samplers) alive
        vocab = llama._model.vocab
        self._grammar = capi.llama_sampler_init_grammar(vocab, grammar._grammar.encode("utf-8"),
                                                        grammar._root.encode("utf-8"))
        self._n_vocab = llama.n_vocab()
        self._end = np.array(sorted({int(capi.llama_vocab_eos(vocab)), int(capi.llama_vocab_eot(vocab))} - {-1}),
                             dtype=np.int32)
        self._dtype = np.dtype([("id", np.int32), ("logit", np.float32), ("p", np.float32)], align=True)
        assert self._dtype.itemsize == ctypes.sizeof(capi.llama_token_data)

    def _candidates(self, ids: Any, logits: Any) -> Any:
        arr = self._np.zeros(len(ids), dtype=self._dtype)
        arr["id"], arr["logit"] = ids, logits[ids]
        return arr

    def _apply(self, sampler: Any, arr: Any) -> Any:
        capi = self._capi
        cur = capi.llama_token_data_array(data=arr.ctypes.data_as(capi.llama_token_data_p), size=len(arr),
                                          selected=-1, sorted=False)
        capi.llama_sampler_apply(sampler, ctypes.byref(cur))
        return cur

    def sample(self, ctx: Any, idx: int = -1) -> int:
        np, capi = self._np, self._capi
        logits = np.ctypeslib.as_array(capi.llama_get_logits_ith(ctx.ctx, idx), shape=(self._n_vocab,))
        top = np.argpartition(logits, -TOP_CANDIDATES)[-TOP_CANDIDATES:]
        arr = self._candidates(np.union1d(top, self._end), logits)
        self._apply(self._grammar, arr)
        if not np.isfinite(arr["logit"]).any():  # nothing likely fits: the grammar decides over everything
            arr = self._candidates(np.arange(self._n_vocab, dtype=np.int32), logits)
            self._apply(self._grammar, arr)
        cur = self._apply(self.chain.sampler, arr)
        token = int(arr["id"][cur.selected])
        capi.llama_sampler_accept(self._grammar, token)
        capi.llama_sampler_accept(self.chain.sampler, token)
        return token

    def close(self) -> None:
        if self._grammar is not None:
            self._capi.llama_sampler_free(self._grammar)
            self._grammar = None
        self.chain.close()

    def __del__(self) -> None:
        self.close()


def _grammar_after_top_candidates() -> None:
    from llama_cpp.llama import Llama

    original = Llama._init_sampler
    if getattr(original, "_cliffhanger_top_candidates", False):
        return

    def init_sampler(self: Any, *args: Any, grammar: Any = None, **kwargs: Any) -> Any:
        chain = original(self, *args, grammar=None, **kwargs)
        return chain if grammar is None else _GrammarAfterTopCandidates(chain, self, grammar)

    init_sampler._cliffhanger_top_candidates = True  # type: ignore[attr-defined]
    Llama._init_sampler = init_sampler  # type: ignore[method-assign]


def patch() -> None:
    """Both patches, for `main()` and for measuring them in-process."""
    _without_extra_buffer_types()
    _grammar_after_top_candidates()


def main() -> None:
    patch()
    from llama_cpp.server.__main__ import main as serve

    serve()


if __name__ == "__main__":
    main()
