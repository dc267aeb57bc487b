"""English narration templates for the offline script writer.

`{t}` is the topic as written, `{T}` the same with a capital first letter
(for the start of a sentence). Sentences are short and spoken-style: they
read aloud well through a TTS voice.
"""

from __future__ import annotations

HOOKS: tuple[str, ...] = (
    "Here is what most people get wrong about {t}.",
    "You think you know {t}? Stay with me for a moment.",
    "{T} is more interesting than it looks, and here is why.",
    "Let's talk about {t}, the short version that actually sticks.",
    "Ever wondered what really makes {t} work? Let's find out.",
    "Give me a minute and {t} will never look the same to you.",
    "Everyone has an opinion about {t}. Few people know the basics.",
    "This is {t}, explained simply.",
    "Stop scrolling. This is the quick guide to {t} you were missing.",
    "What if everything you heard about {t} was only half the story?",
    "{T}: three ideas, zero fluff.",
    "Why does {t} matter so much? Let me show you.",
)

SHORT_HOOKS: tuple[str, ...] = (
    "Quick take on {t}.",
    "{T}, in a nutshell.",
    "Here's {t}, fast.",
    "{T}, explained.",
)

CLOSES: tuple[str, ...] = (
    "If this helped you see {t} differently, follow for more, and tell me what to explain next.",
    "Save this for later, share it with a friend who loves {t}, and follow for the next one.",
    "That's {t} in a nutshell. Like, follow, and drop your questions in the comments.",
    "Now you know more about {t} than most people. Follow for more short explainers.",
    "Which part of {t} surprised you most? Tell me below, and follow for more.",
    "Try one of these ideas this week, then come back and tell me how it went. Follow for more.",
)

SHORT_CLOSES: tuple[str, ...] = (
    "Follow for more.",
    "Save this and follow for more.",
    "Follow for part two.",
    "Share it with a friend.",
)

# Body sections: (heading, visual hint, sentences). The writer walks the
# sections in an order derived from the topic and draws sentences from each
# without repeating any within a script.
SECTIONS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    (
        "The big picture",
        "a wide establishing shot that sums up {t}",
        (
            "At its heart, {t} is about a few simple ideas that fit together.",
            "Most of the confusion around {t} comes from mixing up those ideas.",
            "Once you see the big picture, the details start to make sense on their own.",
            "Think of {t} as a system, not a single trick.",
            "Each part depends on the others, so small changes can ripple outward.",
            "That is why two people can look at {t} and reach very different conclusions.",
            "The good news is that the core is easier to grasp than it seems.",
            "You don't need to be an expert to understand how the pieces connect.",
            "Start with the why, and the how becomes far less mysterious.",
        ),
    ),
    (
        "How it works",
        "a clear diagram-like scene showing how {t} works",
        (
            "So how does {t} actually work?",
            "It starts with a basic input, something small and easy to overlook.",
            "That input gets shaped, step by step, into something much bigger.",
            "Along the way, feedback keeps the whole process in check.",
            "When one step is rushed, the result usually shows it.",
            "The steps are simple on their own; the magic is in the order.",
            "Timing matters more than most people expect.",
            "Get the sequence right, and {t} almost runs itself.",
            "Get it wrong, and even a lot of effort goes nowhere.",
        ),
    ),
    (
        "A bit of history",
        "an old-fashioned, nostalgic scene hinting at the history of {t}",
        (
            "{T} did not appear overnight.",
            "It grew out of many small experiments, most of which failed.",
            "Early attempts were clumsy, expensive, and easy to dismiss.",
            "But each failure taught people something the next attempt could use.",
            "Over time, the rough edges were smoothed out.",
            "What once needed specialists slowly became something anyone could try.",
            "Looking back, the turning points are easy to spot.",
            "At the time, almost nobody noticed them.",
        ),
    ),
    (
        "Surprising facts",
        "a striking, eye-catching close-up related to {t}",
        (
            "Here's something that surprises a lot of people.",
            "The most important part of {t} is often the least visible one.",
            "Small, boring details tend to matter more than big dramatic moves.",
            "Many experts disagree about {t}, and that's a healthy sign.",
            "Some of the best ideas in {t} came from complete outsiders.",
            "And the simplest explanation is, surprisingly often, the right one.",
            "Even people who work with {t} every day still find new things to learn.",
            "The more closely you look, the more layers you find.",
        ),
    ),
    (
        "Common mistakes",
        "a playful scene of something going slightly wrong with {t}",
        (
            "Now, the mistakes.",
            "The first one is trying to do everything at once.",
            "The second is copying what worked for someone else without asking why it worked.",
            "Another classic is ignoring the basics because they feel too simple.",
            "People also give up right before things start to click.",
            "And many never measure anything, so they can't tell what helped.",
            "Avoid these, and you're already ahead of most beginners.",
            "None of these mistakes are fatal; they just slow you down.",
        ),
    ),
    (
        "Try this",
        "a bright, hands-on scene of someone trying {t}",
        (
            "Here's a simple way to get started with {t}.",
            "Pick one small piece and give it ten focused minutes today.",
            "Write down what you expect to happen before you begin.",
            "Then compare that with what actually happened.",
            "That one habit teaches more than hours of passive reading.",
            "Repeat it for a week and you'll notice a real difference.",
            "Ask questions early; the answers are usually closer than you think.",
            "Keep it light and curious, not perfect.",
            "Progress in {t} comes from many small, steady steps.",
        ),
    ),
    (
        "Why it matters",
        "a warm, human scene showing why {t} matters in everyday life",
        (
            "Why should you care about {t}?",
            "Because it quietly shapes decisions you make every day.",
            "Understanding it helps you spot good advice, and bad advice too.",
            "It makes conversations easier, because you know what the words really mean.",
            "And it saves time, money, or frustration, often all three.",
            "People who understand {t} tend to make calmer, clearer choices.",
            "In short, a little knowledge here goes a long way.",
        ),
    ),
    (
        "What's next",
        "a hopeful, forward-looking horizon scene about the future of {t}",
        (
            "So where is {t} heading?",
            "New tools keep making it easier to learn and easier to share.",
            "Ideas that sounded like science fiction a few years ago are now routine.",
            "At the same time, the fundamentals have barely changed.",
            "That's worth remembering whenever something new gets hyped.",
            "The people who do well will be the ones who keep learning.",
            "And the best part is that you can start right now.",
        ),
    ),
    (
        "Myths and facts",
        "a split scene contrasting myth and reality about {t}",
        (
            "Let's clear up a popular myth.",
            "Many people believe {t} is only for a lucky few.",
            "In reality, most of it can be learned, one piece at a time.",
            "Another myth says you need expensive gear or special access.",
            "Usually, curiosity and patience matter far more.",
            "And no, you don't have to get everything right the first time.",
            "Everyone who is good at {t} was once a beginner.",
        ),
    ),
    (
        "Quick recap",
        "a calm, tidy summary scene about {t}",
        (
            "Let's recap.",
            "{T} is built on a few simple ideas that work together.",
            "Order and timing matter more than raw effort.",
            "Small details often make the biggest difference.",
            "Avoid the classic mistakes, and measure what you do.",
            "Stay curious, and keep your steps small and steady.",
        ),
    ),
    (
        "Real-world examples",
        "an everyday street-level scene where {t} shows up in real life",
        (
            "Let's make this concrete.",
            "Picture an ordinary Tuesday, and notice how often {t} shows up.",
            "It's there in the choices people make without thinking twice.",
            "A small business might use it to save an afternoon every week.",
            "A student might use it to finally understand a tricky subject.",
            "A family might use it to plan better and argue less.",
            "Different settings, same underlying ideas.",
            "Once you start noticing {t}, you'll see it everywhere.",
        ),
    ),
    (
        "Questions people ask",
        "a curious scene with a question mark mood about {t}",
        (
            "A question I hear a lot: is {t} hard to learn?",
            "The honest answer is that it's easier than it looks, but not instant.",
            "Another one: where should a beginner start?",
            "Start with whatever part you're most curious about.",
            "Curiosity keeps you going when motivation runs out.",
            "And how long does it take to get good?",
            "Longer than a weekend, shorter than you fear.",
            "The trick is to keep showing up.",
        ),
    ),
    (
        "Pro tips",
        "a sleek, expert-level scene with fine detail about {t}",
        (
            "Here are a few tips the pros rarely say out loud.",
            "First, keep notes, because memory is a terrible archive.",
            "Second, learn from people one step ahead of you, not ten.",
            "Third, change one thing at a time so you know what made the difference.",
            "Fourth, rest. Good ideas often arrive when you stop pushing.",
            "And finally, teach what you learn; explaining it sharpens it.",
            "Small tips, big results.",
        ),
    ),
)

# Connectors that can open a body sentence; used sparingly for variety.
CONNECTORS: tuple[str, ...] = (
    "Here's the thing:",
    "In practice,",
    "Put simply,",
    "Honestly,",
    "And remember,",
    "On top of that,",
    "Interestingly,",
    "In other words,",
)

FILLERS: tuple[str, ...] = (
    "Keep that in mind.",
    "It adds up.",
    "Simple, right?",
    "That matters.",
    "Think about it.",
    "Worth knowing.",
)
