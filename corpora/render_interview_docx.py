"""Write ``corpora/interviews/w03_str_worker.docx``, the STR worker interview, as a Word file.

The interview is fictional, written for the reltext project. It is kept here as text so that
the Word file can be rebuilt byte for byte: ``python corpora/render_interview_docx.py``.
Layout as a typist would produce it: a Heading 1 title, a metadata paragraph, then one
paragraph per turn with the speaker label (and its colon) in bold; one long answer runs on
into a second, unlabelled paragraph (marked ``+`` below).
"""

from __future__ import annotations

import io
from datetime import datetime
from pathlib import Path

from docx import Document
from docx.shared import Pt

from render_annomi import fixed_zip

HERE = Path(__file__).resolve().parent
TITLE = "STR worker interview W03"
METADATA = ("Participant ID: W03 \u2022 Role: Support, Time and Recovery (STR) worker \u2022 "
            "Site: Eastfield \u2022 Date: 20 April 2023 \u2022 Interviewer: RB\n"
            "Fictional interview written for the reltext project; no real person is described.")

TURNS = """\
Interviewer|Thanks for making the time, Marcia. Could you start by telling me a bit about your role?
Participant|Yeah, course. So I'm an STR worker, Support, Time and Recovery. I've been in post just over three years now, based out of the Eastfield community team. I carry about fourteen people at the moment, which is a bit over what we're meant to have.
Interviewer|Mm-hmm.
Participant|And the idea really is that I'm the one with time. The care coordinators, bless them, they've got forty-odd on their books, they're doing risk assessments, they're doing the paperwork. I can actually sit with someone for an hour and a half and just... be there.
Interviewer|What does a typical week look like?
Participant|There isn't one! [laughs] Honestly. It could be going with someone to the job centre, it could be helping someone fill in a housing form, it could be sitting in a café because they've not left the house in a month and that's the goal for the day. I had a chap last week, we just went to the big Tesco together. That was huge for him.
Interviewer|Mm.
Participant|It sounds small but it's not.
Interviewer|How do you go about building a relationship with someone?
Participant|Slowly. Very slowly, usually. A lot of the people I see have been let down so many times, by services, by family, by us, to be fair. So they don't trust you, and why would they? You have to earn it. I always say I'd rather turn up when I said I would five times than say one clever thing.
Interviewer|That reliability.
Participant|Yeah, reliability. And honesty. If I can't do something, I say so. If I have to share something with the team, I tell them first, I don't go behind their back.
Interviewer|Can you think of an example where that made a difference?
Participant|Erm... yeah. There's a woman I work with, I'll call her Lorraine. When I first met her she wouldn't open the door. Literally. I talked to her through the letterbox for about three weeks. [laughs] She'd been sectioned a few times and she was absolutely convinced I was there to get her back in.
+|And now, a year on, she's going to the women's group at the Larches on her own, she's back in touch with her sister, and she rings me when she's worried rather than waiting till it all blows up. She said to me, you're the first one who didn't try to fix me. That's stayed with me, that.
Interviewer|What do you think she meant by that?
Participant|I think... I think a lot of services come in with the answer already. You need to take your meds, you need to engage, you need to do this course. And she just needed someone to listen and let her work out what she wanted. It's her life. I'm not the expert on her life, she is.
Interviewer|Are there things that get in the way of working like that?
Participant|Oh, loads. [laughs] Where do you start. The caseload, obviously. The paperwork's gone through the roof. And there's always pressure to close cases, show throughput. Recovery doesn't work to a twelve-week timetable.
Interviewer|Mm-hmm.
Participant|And then there's the stuff outside us. Housing's a massive one. You can do all this work with someone, they're doing really well, and then they get moved to a hostel on the other side of the city and you lose them. Benefit sanctions. The waiting list for psychology is eighteen months. It's not the person that's failing, half the time, it's everything around them.
Interviewer|How does that feel for you, as the worker?
Participant|Honestly? Some days it's soul-destroying. You feel like you're holding it all together with sticky tape. I've gone home and cried, more than once. And I do question myself sometimes, like, am I actually making a difference or am I just a nice person to have a cup of tea with?
Interviewer|What's your answer to that, when you ask yourself?
Participant|[pause] I think the cup of tea is the difference, a lot of the time. That's what I've come to. It's the relationship. Everything else hangs off that.
Interviewer|Do you get support yourself?
Participant|Supervision, once a month, when it's not cancelled. [laughs] And the other STR workers, we've got a WhatsApp group and we meet for lunch on a Friday when we can. That's a lifeline, to be fair. They get it.
Interviewer|How do you think the rest of the team sees the STR role?
Participant|Mixed. Some of the consultants really value it, they'll ask me what I think because I'm the one who sees people at home. Others, I'm, you know, the support worker, I'm there to do the transport. There was a ward round last month where I said the client didn't want a depot and I was basically talked over. That was hard. I felt like I'd let her down.
Interviewer|What happened?
Participant|She ended up on it anyway. She hasn't really spoken to me properly since. So there you go. You build it up for months and it can go in one meeting.
Interviewer|That sounds really difficult.
Participant|It was. It is.
Interviewer|If you could change one thing about how the service works, what would it be?
Participant|Time. Give people longer. Don't close someone just because the numbers say so. Let the relationship end when the person's ready, not when the spreadsheet is. And listen to the people who use the service, properly listen, not a survey.
Interviewer|Thank you, Marcia. Is there anything you'd like to add?
Participant|Just that I love this job. Even on the bad days. I wouldn't do anything else.
"""


def build() -> bytes:
    document = Document()
    properties = document.core_properties
    properties.author = properties.last_modified_by = "reltext"
    properties.title = TITLE
    properties.created = properties.modified = datetime(2024, 1, 1)
    properties.revision = 1
    document.add_heading(TITLE, level=1)
    run = document.add_paragraph().add_run(METADATA)  # "\n" becomes a line break
    run.italic = True
    run.font.size = Pt(9)
    for line in TURNS.splitlines():
        speaker, text = line.split("|", 1)
        paragraph = document.add_paragraph()
        if speaker == "+":
            paragraph.add_run(text)
        else:
            paragraph.add_run(f"{speaker}:").bold = True
            paragraph.add_run(f" {text}")
    buffer = io.BytesIO()
    document.save(buffer)
    return fixed_zip(buffer.getvalue())


if __name__ == "__main__":
    out = HERE / "interviews" / "w03_str_worker.docx"
    out.write_bytes(build())
    print(f"{out}: {sum(1 for line in TURNS.splitlines() if not line.startswith('+'))} turns")
