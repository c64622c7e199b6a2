"""The word lists behind the model-free metrics, per language: data, read by `text_stats`.

Matching rules (see `text_stats.lexicon_hits`): an English term matches whole words, case-insensitively,
ignoring punctuation, and a trailing `*` makes it a stem (`slap*` matches slaps, slapped); a Chinese
term matches anywhere once whitespace and punctuation are removed from both sides. Terms that also
turn up in flat, establishing prose are left out on purpose: a missed hook costs less than a metric
that calls every sunrise a hook.
"""

from __future__ import annotations

# Conflict words that make an opening frame hot (DESIGN 1: a hook in the first 3-5 s); "fall", "push",
# "wine" or a bare "偷" (偷偷, secretly) and "泼" (活泼, lively) are left out on purpose.
HOOK_TERMS: dict[str, tuple[str, ...]] = {
    "en": (
        "slap*", "kneel*", "knelt", "on your knees", "divorc*", "pregnan*", "miscarr*", "blood*", "bleed*",
        "fired", "kill*", "murder*", "dead", "die", "dies", "dying", "corpse", "betray*", "cheat*", "affair",
        "mistress", "scream*", "shriek*", "shatter*", "smash*", "splash*", "humiliat*", "arrest*", "handcuff*",
        "gun", "guns", "gunshot*", "pistol", "knife", "knives", "stab", "stabs", "stabbed", "stabbing", "kidnap*", "hostage*", "poison*",
        "evict*", "thief", "thieves", "steal*", "stole", "stolen", "liar", "fraud", "framed", "blackmail*",
        "scandal*", "punch*", "shove*", "choke*", "choking", "strangl*", "hurl*", "threw", "crash*",
        "collaps*", "faints", "fainted", "fainting", "revenge", "vengeance", "how dare", "get out", "disinherit*", "bankrupt*",
        "prison", "jail*", "police", "rips up", "tears up", "imposter", "impostor", "fake heiress",
        "spill*", "soaks", "soaked", "drench*", "douse*", "splatter*",
    ),
    "zh": (
        "耳光", "巴掌", "扇了", "跪下", "下跪", "跪在", "离婚", "怀孕", "流产", "鲜血", "血迹", "流血", "吐血",
        "开除", "被炒", "杀", "死", "尸体", "车祸", "绑架", "下药", "毒", "出轨", "小三", "背叛", "偷了", "偷走", "小偷",
        "污蔑", "陷害", "撕碎", "摔碎", "砸", "泼向", "泼了", "泼在", "尖叫", "推倒", "掐住", "退婚", "悔婚", "解除婚约", "破产",
        "坐牢", "报警", "警察", "羞辱", "亲子鉴定", "遗嘱", "住手", "站住", "放开", "闭嘴", "签字", "道歉", "让开",
        "别动", "不许动", "拿下", "带走", "交出来", "给我滚", "滚出去", "滚开", "冒牌货", "贱人", "野种", "废物",
    ),
}
# English imperatives that open a sentence of dialogue ("Sign it." "Get out!"); Chinese commands are in
# HOOK_TERMS because they are not tied to the start of a sentence.
COMMAND_STARTS_EN: tuple[str, ...] = (
    "get out", "get on", "get away", "kneel", "sign", "give me", "give it", "hand it", "hand over", "apologize",
    "apologise", "drink", "shut up", "pay", "stop", "drop", "let go", "let her go", "let him go", "don't move",
    "don't touch", "back off", "leave", "admit", "confess", "look at me", "answer me", "say it", "take it back",
    "move", "out", "stay away", "open",
)

# How an episode ends. Content kinds are searched in the last element and the ending hook; form kinds
# (interruption, question) look at how those texts end (see `classify_ending`).
ENDING_TERMS: dict[str, dict[str, tuple[str, ...]]] = {
    "arrival": {
        "en": ("door opens", "door swings open", "door bursts open", "doors open", "doors swing open",
               "doors burst open", "door flies open", "walks in", "walk in", "steps in", "strides in", "bursts in",
               "barges in", "appears in the doorway", "appears at the door", "in the doorway", "standing in the door*",
               "appears behind", "a voice behind", "a figure", "silhouette", "arrives", "has arrived",
               "enters", "steps out of the car", "headlights"),
        "zh": ("门开了", "门被推开", "门被踹开", "门被撞开", "推门而入", "推门进来", "破门而入", "闯了进来", "闯进来",
               "走了进来", "走进来", "出现在门口", "站在门口", "门口站着", "门外站着", "出现在", "身影", "逆光而立",
               "身后传来", "门外传来", "门口传来", "来了", "赶到", "驾到"),
    },
    "reveal": {
        "en": ("is my daughter", "is my son", "my real", "your real", "is your daughter", "is your son",
               "is his daughter", "is her son", "real identity", "true identity", "real heir", "true heir", "the heir", "it was you", "it's you",
               "it is you", "was you", "is alive", "still alive", "isn't dead", "never died", "is pregnant",
               "dna", "paternity", "test results", "results show", "birth certificate", "switched at birth",
               "the truth is", "i am your", "i'm your", "is actually", "was actually", "turns out", "secret",
               "the will", "recognize*", "recognise*", "realiz*", "realis*", "the real", "eyes flash*",
               "eyes glow*", "sees it", "notices"),
        "zh": ("真实身份", "真正的身份", "身份是", "就是你", "是你", "原来是", "原来你", "原来她", "原来他", "亲生",
               "亲子鉴定", "鉴定结果", "鉴定报告", "真相", "竟然是", "居然是", "才是", "调包", "没死", "还活着",
               "怀孕了", "遗嘱", "继承人", "私生", "是我的女儿", "是我女儿", "是你的女儿", "是你女儿", "是我的儿子",
               "是我儿子", "是你的儿子", "是你儿子", "的孩子是", "生父", "生母", "秘密", "认出"),
    },
    "threat": {
        "en": ("you'll regret", "you will regret", "or else", "i'll kill", "i will kill", "i'll destroy",
               "i will destroy", "you're dead", "you are dead", "you will pay", "you'll pay", "watch your back",
               "mark my words", "i'll make you", "ruin you", "destroy you", "end you", "over my dead body",
               "don't make me", "you have until", "last chance", "or you die", "or she dies", "or he dies",
               "aims the gun", "aims a gun", "pulls a gun", "gun to", "knife to", "raises the knife", "cocks the",
               "won't let you", "make you pay", "this isn't over", "this is not over", "you're finished"),
        "zh": ("否则", "不然", "杀了你", "让你后悔", "你会后悔", "你给我等着", "等着瞧", "走着瞧", "付出代价", "死定了",
               "要你的命", "弄死", "毁了你", "别怪我", "对你不客气", "不客气了", "最后一次机会", "枪口", "刀抵",
               "举起刀", "掐住", "不会放过", "饶不了", "跟你没完", "这事没完"),
    },
    "interruption": {
        "en": ("cut off", "cuts off", "cuts her off", "cuts him off", "interrupt*", "mid-sentence", "phone rings",
               "phone buzzes", "before she can", "before he can", "just then"),
        "zh": ("话音未落", "话还没说完", "打断", "电话响", "手机响", "铃声响起", "就在这时"),
    },
}
# Dashes and ellipses that cut a line off; a line ending this way is an interruption.
CUT_OFF_ENDINGS: tuple[str, ...] = ("—", "–", "--", "…", "...", "⋯")
QUESTION_PARTICLES_ZH: tuple[str, ...] = ("吗", "么", "呢")

# Stock phrasing of machine-written and cliché drama prose; the genre pack's avoid list is added to it.
SLOP_PHRASES: dict[str, tuple[str, ...]] = {
    "en": (
        "a wave of", "little did she know", "little did he know", "couldn't help but", "could not help but",
        "a testament to", "sent shivers down", "a shiver ran down", "a chill ran down", "barely above a whisper",
        "let out a breath", "a breath she didn't know", "a breath he didn't know", "the air thick with",
        "hung heavy in the air", "in that moment", "time seemed to stop", "time seemed to stand still",
        "something shifted", "a mix of", "a mixture of", "a flicker of", "a glint of", "a hint of",
        "steely resolve", "newfound", "every fiber of", "palpable", "tapestry", "the weight of", "unspoken",
        "eyes that held", "a smirk played", "a smile tugged", "her heart skipped", "his heart skipped",
        "the silence was deafening", "you could hear a pin drop", "without missing a beat", "in a voice laced with",
    ),
    "zh": (
        "眼中闪过一丝", "眼底闪过一丝", "闪过一丝", "嘴角勾起一抹", "嘴角勾起", "嘴角微微上扬", "勾起一抹",
        "不由得", "不禁", "倒吸一口凉气", "倒吸一口冷气", "空气仿佛凝固", "空气瞬间凝固", "时间仿佛静止",
        "心中一紧", "心头一震", "心中五味杂陈", "五味杂陈", "意味深长", "一字一顿", "一字一句", "深邃的眸子",
        "深邃的眼眸", "眸光", "眸中", "邪魅", "难以置信", "不可置信", "全场一片哗然", "所有人都惊呆了",
        "周身散发着", "生人勿近", "莫名的", "一抹冷笑", "一丝冷意", "冷得可怕",
    ),
}

STOP_WORDS_EN: frozenset[str] = frozenset("""
a an the and or but if of to in on at by for with from into onto up down out over as is are was were be been being
am do does did have has had i me my mine you your yours he him his she her hers it its we us our they them their
this that these those there here what who whom which when where why how not no so just than then too very can
could will would shall should may might must all any some one now only again still off about s t i'm you're it's
don't that's he's she's i'll you'll we're they're can't won't didn't isn't aren't wasn't let's oh yes yeah okay ok
""".split())
STOP_CHARS_ZH: frozenset[str] = frozenset(
    "的了是我你他她它们在不这那就都也和着吗呢吧啊呀一个有没说要会把被给让对到上下来去又还很得地之与而么哦嗯")

# The payoff built in three steps (issue 17), as a keyword proxy read off the script: a public commitment by
# the antagonist (a conditional or a vow), the turn by proof or a third party, the price the antagonist pays.
# Regular expressions over the text lowercased with ’ folded to ' (`text_stats.payoff_build` applies them and
# decides who may say what). A proxy: it sees the words, not whether the scene lands.
PAYOFF_BUILD: dict[str, dict[str, tuple[str, ...]]] = {
    "commitment": {
        "zh": (r"(如果|要是|若是|假如|只要).{0,24}(就|我)", r"我当场", r"我(就|当众)?跪下", r"我发誓", r"敢不敢",
               r"我(就|当场|立刻)?(辞职|滚出|磕头)", r"赌上"),
        "en": (r"\bif (she|he|you|they|this|that) (can|could|does|is|really)\b", r"\bi'?ll (resign|quit|kneel|leave|walk "
               r"away|eat|pay|apologi[sz]e)\b", r"\bi swear\b", r"\bi bet\b", r"\byou have my word\b"),
    },
    "turn": {
        "zh": (r"证据", r"录音", r"文件", r"视频", r"合同", r"dna", r"鉴定", r"监控", r"记录", r"委托书", r"原件",
               r"原稿", r"报告"),
        "en": (r"\bevidence\b", r"\brecordings?\b", r"\bdocuments?\b", r"\bcontracts?\b", r"\bfootage\b", r"\bdna\b",
               r"\bproof\b", r"\breceipts?\b", r"\boriginal\b", r"\bsurveillance\b", r"\bpaternity\b", r"\bvideo\b"),
    },
    "price": {
        "zh": (r"辞退", r"解除婚约", r"退婚", r"赔", r"跪", r"开除", r"滚出", r"撤职", r"带走", r"逮捕", r"净身出户"),
        "en": (r"\bfired\b", r"\byou'?re fired\b", r"\bengagement('s| is)? off\b", r"\bcall(s|ed)? off the "
               r"(engagement|wedding)\b", r"\bresign(s|ed|ation)?\b", r"\bpa(y|ys|id|ying)\b", r"\bkn(eel|eels|elt|eeling)\b",
               r"\barrest(ed)?\b", r"\bexpelled\b", r"\bdisinherit(ed)?\b", r"\bget out\b"),
    },
}
PAYOFF_STEPS: tuple[str, ...] = ("commitment", "turn", "price")
