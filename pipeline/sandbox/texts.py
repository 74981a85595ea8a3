"""Word lists the simulator draws names, titles and brain-dump text from."""

PEOPLE = [
    "Avery Quinn",
    "Jordan Blake",
    "Riley Chen",
    "Morgan Patel",
    "Casey Okafor",
    "Taylor Moreau",
    "Jamie Lindqvist",
    "Drew Santos",
    "Skyler Nakamura",
    "Reese Adeyemi",
    "Parker Ivanova",
    "Rowan Gallagher",
]

PROJECT_THEMES = [
    ("project.writer.book", "Write the {adj} novel draft", "writing"),
    ("project.writer.newsletter", "Launch the {adj} newsletter", "writing"),
    ("project.software.app", "Ship the {adj} mobile app", "software"),
    ("project.software.api", "Rebuild the {adj} billing API", "software"),
    ("project.business.launch", "Open the {adj} online shop", "business"),
    ("project.business.hiring", "Hire a {adj} design team", "business"),
    ("project.creative.podcast", "Start the {adj} podcast", "creative"),
    ("project.creative.album", "Record the {adj} EP", "creative"),
    ("project.personal.health", "Train for the {adj} half marathon", "personal"),
    ("project.personal.move", "Move to the {adj} apartment", "personal"),
    ("project.research.study", "Run the {adj} user study", "research"),
    ("project.education.course", "Build the {adj} online course", "education"),
    ("project.community.event", "Organise the {adj} meetup", "community"),
    ("project.nonprofit.campaign", "Run the {adj} fundraising campaign", "community"),
]

ADJECTIVES = [
    "spring",
    "autumn",
    "big",
    "second",
    "quiet",
    "bold",
    "local",
    "remote",
    "new",
    "summer",
    "winter",
    "open",
    "community",
    "pilot",
    "annual",
    "weekend",
]

TASK_VERBS = [
    "Draft",
    "Review",
    "Outline",
    "Research",
    "Schedule",
    "Email",
    "Write",
    "Design",
    "Test",
    "Fix",
    "Plan",
    "Record",
    "Edit",
    "Publish",
    "Call",
    "Order",
    "Prepare",
    "Update",
    "Refine",
    "Measure",
]

TASK_OBJECTS = {
    "writing": [
        "chapter {n}",
        "the synopsis",
        "character notes",
        "the query letter",
        "beta reader feedback",
        "the cover brief",
        "issue #{n}",
        "the welcome sequence",
    ],
    "software": [
        "the login flow",
        "push notifications",
        "the settings screen",
        "crash report {n}",
        "the release checklist",
        "API rate limits",
        "the onboarding copy",
        "database migration {n}",
    ],
    "business": [
        "the supplier list",
        "product photos",
        "the pricing page",
        "shipping rates",
        "candidate shortlist",
        "interview loop {n}",
        "the job post",
        "the budget",
    ],
    "creative": [
        "episode {n}",
        "guest list",
        "the intro music",
        "mix of track {n}",
        "the artwork",
        "the release plan",
        "microphone setup",
        "show notes",
    ],
    "personal": [
        "long run week {n}",
        "the meal plan",
        "packing boxes",
        "the lease",
        "the movers",
        "utilities transfer",
        "stretch routine",
        "race registration",
    ],
    "research": [
        "the interview guide",
        "participant {n} notes",
        "the consent form",
        "the synthesis board",
        "findings deck",
        "the screener survey",
        "recruiting",
    ],
    "education": [
        "module {n}",
        "the quiz bank",
        "lesson video {n}",
        "the course outline",
        "the sales page",
        "student feedback",
        "the workbook",
    ],
    "community": [
        "the venue",
        "speaker {n}",
        "the sponsor deck",
        "volunteer roster",
        "the donor list",
        "thank-you notes",
        "the event page",
        "press outreach",
    ],
}

TASK_TYPES = [
    "task.default",
    "task.execute",
    "task.research",
    "task.review",
    "task.create",
    "task.coordinate",
]

TOPICS = [
    "planning",
    "writing",
    "health",
    "finance",
    "family",
    "launch",
    "marketing",
    "hiring",
    "learning",
    "travel",
    "design",
    "research",
    "music",
    "fitness",
    "community",
    "ideas",
]

BRAIN_DUMP_OPENERS = [
    "Okay, brain dump time.",
    "Random thoughts before bed:",
    "Morning pages:",
    "Things on my mind today:",
    "Quick capture from the walk:",
    "Notes after the call:",
]

BRAIN_DUMP_LINES = [
    "I keep putting off {obj} and it is blocking everything else.",
    "Need to figure out {obj} before the end of the week.",
    "Idea: what if we tried {obj} in a completely different way?",
    "Remember to ask about {obj}.",
    "Feeling good about progress on {obj}.",
    "The deadline for {obj} is closer than I thought.",
]

BRIEF_ACTIONS = [
    "Finish {obj}",
    "Unblock {obj}",
    "Decide on {obj}",
    "Follow up on {obj}",
    "Start {obj}",
]

DOCUMENT_TITLES = [
    "Project brief",
    "Research notes",
    "Meeting notes",
    "Decision log",
    "Outline",
    "Context document",
    "Retrospective",
]

GOAL_NAMES = [
    "Reach the first milestone on time",
    "Keep weekly momentum",
    "Ship a version people can use",
    "Stay within budget",
    "Learn what users need",
    "Build a habit that sticks",
]

MILESTONE_TITLES = [
    "Kick-off done",
    "First draft complete",
    "Beta ready",
    "Halfway review",
    "Launch",
    "Final review",
    "Wrap-up",
]

PLAN_NAMES = ["Week-by-week plan", "Launch plan", "Research plan", "Content calendar"]
