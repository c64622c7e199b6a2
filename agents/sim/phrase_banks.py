"""Original phrase fragments the sim writes with, in Chinese and English.

Genre flavour: revenge and face-slap, CEO romance, buried secrets, identity reveals. `{a}` and `{b}`
are character names, filled in by `drama_text`.
"""

from __future__ import annotations

CAST = {
    "zh": ("林晚", "顾沉", "苏念", "沈墨", "陆景深", "江柔", "许安然", "周屿"),
    "en": ("Ava Sterling", "Ethan Cole", "Lily Hart", "Damon Blackwood", "Grace Lin", "Victor Hale", "Nora Quinn"),
}

# Ids for the built-in Chinese cast, so snake_case ids stay ASCII.
PINYIN = {
    "林晚": "lin_wan", "顾沉": "gu_chen", "苏念": "su_nian", "沈墨": "shen_mo",
    "陆景深": "lu_jingshen", "江柔": "jiang_rou", "许安然": "xu_anran", "周屿": "zhou_yu",
}

LINES = {
    "zh": (
        "三年前你亲手签的字，忘了吗？", "从今天起，这个家我说了算。", "你以为我还是当年那个任你摆布的人？",
        "把戒指还给我，你不配。", "你再说一遍，谁是野种？", "这份亲子鉴定，你敢不敢当众打开？",
        "跪下道歉，我可以当没听见。", "我回来，不是为了原谅谁。", "顾总，您的未婚妻在楼下等了三个小时。",
        "你到底是谁？为什么会有我母亲的照片？", "别碰她，她是我的人。", "这家公司，我买下了。",
        "你欠我的，今天一笔一笔还。", "原来那场火，是你放的。", "我只问一次，孩子是谁的？",
        "保安，把这个女人请出去。", "董事会的票，已经在我手里了。", "你笑得太早了。",
        "我嫁给你，只是为了查清真相。", "他不是你的父亲，我才是。",
    ),
    "en": (
        "You signed it yourself three years ago. Did you forget?", "From tonight, this family answers to me.",
        "You think I'm still the girl you could push around?", "Give me back the ring. You don't deserve it.",
        "Say that again. Who's the bastard?", "Open the DNA results. Right here, in front of everyone.",
        "Get on your knees and I might pretend I didn't hear that.", "I didn't come back to forgive anyone.",
        "Your fiancee has been waiting downstairs for three hours, sir.",
        "Who are you? Why do you have a photo of my mother?", "Touch her again and you lose that hand.",
        "I just bought this company. You work for me now.", "Every cent you stole, you pay back today.",
        "So the fire was you. It was always you.", "I'll ask once. Whose child is it?",
        "Security, escort this woman out.", "The board votes are already mine.", "You're smiling too early.",
        "I married you to find out the truth. Nothing else.", "He isn't your father. I am.",
    ),
}

ACTIONS = {
    "zh": (
        "{a}把合同摔在桌上，纸页散了一地。", "{b}瞳孔一缩，手里的红酒杯微微发抖。", "{a}缓缓摘下墨镜，露出眼角那道旧疤。",
        "宴会厅的灯突然全灭，只剩{a}手机屏幕的光。", "{b}一把攥住{a}的手腕，指节发白。", "{a}转身，高跟鞋踩碎了地上的玻璃。",
        "电梯门打开，{b}站在里面，西装上沾着血。", "{a}把一张泛黄的照片推到{b}面前。", "所有宾客同时回头，看向门口的{a}。",
        "{b}的手机亮起：一条没有署名的短信。", "{a}低头看着验孕单，手指一点点收紧。", "雨夜，{a}站在顾家门外，浑身湿透。",
        "{b}撕碎离婚协议，纸屑落进壁炉。", "{a}按下录音笔，{b}的声音在大厅里回响。",
    ),
    "en": (
        "{a} slams the contract on the table. Pages scatter across the floor.",
        "{b} freezes. The wine glass trembles in his hand.", "{a} slides off her sunglasses, revealing an old scar.",
        "The ballroom lights die. Only {a}'s phone screen glows.", "{b} grabs {a}'s wrist, knuckles white.",
        "{a} turns. Her heel crushes the broken glass.", "The elevator opens on {b}, blood on his white shirt.",
        "{a} pushes a yellowed photograph across the desk to {b}.", "Every guest turns toward {a} at the door.",
        "{b}'s phone lights up: a text with no sender.", "{a} stares at the pregnancy test, fingers tightening.",
        "Rain. {a} stands outside the mansion gates, soaked through.",
        "{b} tears the divorce papers in half and feeds them to the fire.",
        "{a} clicks the recorder. {b}'s own voice fills the hall.",
    ),
}

HOOKS = {
    "zh": (
        "门外传来脚步声，来的人，本该在三年前就死了。", "鉴定结果的最后一行，写着一个{a}做梦都想不到的名字。",
        "{b}刚要开口，{a}的手机响了——是医院打来的。", "{a}掀开盖布，下面那张脸，和她一模一样。",
        "婚礼进行曲响起的那一刻，大屏幕上放出了{b}的秘密。", "{a}终于看清了凶手的背影，却发现那是她最信任的人。",
        "{b}单膝跪地，戒指盒里却是一把钥匙。", "保险柜打开，里面只有一份写着{a}名字的死亡证明。",
        "“你知道你真正的母亲是谁吗？”{b}的声音戛然而止。", "车灯直直冲来，{a}来不及躲。",
    ),
    "en": (
        "Footsteps at the door. The man who walks in died three years ago.",
        "The last line of the DNA report names someone {a} never imagined.",
        "{b} opens his mouth to confess, and {a}'s phone rings. It's the hospital.",
        "{a} pulls back the sheet. The face underneath is her own.",
        "As the wedding march begins, the big screen plays {b}'s secret.",
        "{a} finally sees the killer's face, and it's the one person she trusted.",
        "{b} kneels, but the ring box holds a key instead of a ring.",
        "The safe swings open. Inside: a death certificate with {a}'s name on it.",
        "\"Do you know who your real mother is?\" {b} never finishes the sentence.",
        "Headlights swerve straight at {a}. There's no time to move.",
    ),
}

LOGLINES = {
    "zh": (
        "被豪门扫地出门的{a}，五年后带着神秘身份归来，让每一个欺辱过她的人付出代价。",
        "{a}为替父申冤嫁给冷面总裁{b}，却发现他就是当年那场火灾的唯一目击者。",
        "替嫁新娘{a}隐藏真实身份，在{b}的家族里一步步揭开母亲死亡的真相。",
        "重生回到订婚前夜，{a}决定这一次亲手撕碎{b}的阴谋。",
        "被所有人看不起的上门女婿{b}，其实是掌控半个城市的幕后之人。",
        "{a}和{b}签下一纸契约婚姻，却都在隐瞒同一个秘密。",
        "真假千金互换二十年，{a}回家那天，{b}已经准备好了陷阱。",
        "离婚当天，{a}才知道{b}为她挡下了整个家族的追杀。",
    ),
    "en": (
        "Thrown out of a billionaire family, {a} returns five years later under a new name to ruin everyone who broke her.",
        "{a} marries cold CEO {b} to clear her father's name, then learns he is the only witness to the fire.",
        "A stand-in bride hides who she really is while {a} uncovers how her mother died inside {b}'s family.",
        "Reborn on the night before her engagement, {a} decides to tear {b}'s scheme apart first.",
        "Everyone mocks {b}, the live-in son-in-law, but he quietly owns half the city.",
        "{a} and {b} sign a contract marriage, each hiding the same secret.",
        "Switched at birth, {a} comes home twenty years late, and {b} has already set the trap.",
        "On their divorce day, {a} learns {b} took every blow his family aimed at her.",
    ),
}

LOCATIONS = {
    "zh": (
        "顾氏集团顶层办公室", "江边别墅客厅", "医院走廊", "订婚宴会厅", "地下停车场", "老宅书房", "民政局门口",
        "拍卖会现场", "雨夜街头", "董事会会议室", "私人飞机舱内", "天台",
    ),
    "en": (
        "Sterling Tower penthouse office", "Riverside mansion living room", "Hospital corridor", "Engagement gala ballroom",
        "Underground parking garage", "Old family study", "Courthouse steps", "Charity auction hall",
        "Rain-soaked street", "Boardroom", "Private jet cabin", "Rooftop",
    ),
}

EMOTIONS = {
    "zh": ("冷笑", "震惊", "愤怒", "隐忍", "心碎", "得意", "慌乱", "决绝", "不屑", "哽咽"),
    "en": ("cold", "shocked", "furious", "restrained", "heartbroken", "smug", "panicked", "resolute", "contemptuous", "choked up"),
}

TIMES = {"zh": ("日", "夜", "晨", "黄昏"), "en": ("DAY", "NIGHT", "DAWN", "DUSK")}

TITLES = {
    "zh": ("豪门弃女归来", "总裁的替嫁新娘", "重生之复仇千金", "她的秘密身份", "离婚后他追悔莫及", "真千金不好惹"),
    "en": (
        "The Heiress Returns", "Contract Bride of the CEO", "Reborn for Revenge", "Her Hidden Name",
        "Too Late to Say Sorry", "The Real Daughter",
    ),
}

NOTES = {
    "zh": (
        "开场三秒的钩子够狠，但第二个爽点来得太晚。", "反派的动机需要在前两集埋下伏笔。", "这一集的情绪落点很准，结尾可以再收紧。",
        "{a}的台词与上一集的人设一致。", "身份揭晓的节奏偏快，建议留到付费集。", "冲突升级清楚，打脸场面需要更具体的动作。",
    ),
    "en": (
        "The opening hook lands, but the second payoff arrives too late.",
        "The villain's motive needs a plant in the first two episodes.",
        "The emotional beat is right; the ending could be tighter.",
        "{a}'s lines stay true to how she was set up last episode.",
        "The identity reveal comes too fast; save it for the paywall episode.",
        "The escalation is clear; the face-slap needs a concrete physical beat.",
    ),
}

TRAITS = {
    "zh": ("冷静克制", "外柔内刚", "睚眦必报", "嘴硬心软", "城府极深", "左眉有一道浅疤", "总穿黑色高领", "笑起来有梨涡"),
    "en": (
        "calm and controlled", "soft outside, steel inside", "never forgets a slight", "sharp tongue, soft heart",
        "always three moves ahead", "faint scar through the left eyebrow", "always in a black turtleneck", "dimpled smile",
    ),
}

CAMERA = {
    "shot_size": ("close-up", "medium shot", "wide shot", "extreme close-up", "medium close-up"),
    "angle": ("eye level", "low angle", "high angle", "over the shoulder", "dutch angle"),
    "movement": ("static", "slow push in", "handheld", "dolly out", "whip pan"),
    "lens": ("35mm", "50mm", "85mm", "24mm"),
}

SOUNDS = {
    "zh": ("心跳声渐强", "玻璃碎裂声", "急促的钢琴音", "雷声", "手机震动声", "高跟鞋声由远及近"),
    "en": ("heartbeat swells", "glass shatters", "tense piano stabs", "thunder", "phone buzzes", "heels approaching"),
}

THINK = {
    "zh": (
        "用户要的是一集的结构。先确认上一集的钩子，再安排开场冲突，结尾停在身份即将揭晓的时刻。",
        "需要检查人物设定是否一致，然后按要求的格式输出。",
        "这里的爽点应该是当众打脸，节奏要快，结尾留悬念。",
    ),
    "en": (
        "The user wants the episode structure. First pay off the last hook, then escalate, end on the reveal.",
        "I should check the character sheet for consistency, then answer in the requested format.",
        "The payoff here is a public face-slap. Keep it fast and end on an open question.",
    ),
}

GENERIC_WORDS = {
    "zh": ("复仇", "契约", "秘密", "真相", "婚约", "遗嘱", "身份", "背叛"),
    "en": ("revenge", "contract", "secret", "truth", "engagement", "will", "identity", "betrayal"),
}
