"""Is it happening now? "now", "still here", "20 mins ago", "yesterday", or a bare "yes".

Values (see API.md): "now" (happening or ongoing), "recent" (within about the last hour),
"past", "unknown". Decisions, in the order they are applied:
1. Anything that says it is going on ("now", "rn", "still here", "happening", "going on")
   gives "now", and wins over every other sign: "he just pulled it on someone, happening
   right now" is now. "just now", "not now", "gone now", "not happening now" do not count
   as now, nor does "its now 9:30" (telling the time).
2. A stated time: minutes ago up to an hour, "an hour ago", "just now" are "recent";
   "2 hours ago", "yesterday", "last friday", "this morning", "earlier today" are "past"
   (this morning may be an hour ago, but a texter who meant minutes says minutes).
   When a text gives both, the most recent counts.
3. A text told in the present ("a man is shouting at her", "he keeps staring", or tersely
   "man grabbing her" with nothing in the text that puts it in the past) is "now".
   It comes after stated times: "20 mins ago ... hes being used to sell" is recent.
4. "just" with a past verb ("he just grabbed her", "it just happened") and words that say it
   has ended ("not anymore", "its over", "they got off", "hes gone") are "recent": the texter
   writes as soon as it stops. Travel ("we just left dewsbury") is not the incident.
5. Only when the bot has just asked "is it happening now?" (`answering=True`): a bare yes
   ("ya", "yep") is "now"; a bare no ("no", "nah") is "recent" for the reason in 4; "dont
   know", "not sure" is "unknown".
"""

from __future__ import annotations

import re

from app.conversation.extract.numbers import NUM_WORD, number_value
from app.conversation.extract.words import normalised
from app.conversation.facts import Immediacy, ImmediacyFact

_W = r"(?<!\w)"
_E = r"(?!\w)"

# Phrases with "now" that do not mean it is happening now; masked before step 1.
_NOT_NOW = re.compile(
    _W + r"(?:just\s+now|not\s+(?:happening\s+)?(?:right\s+)?now|isn['’]?t\s+(?:happening\s+)?now"
    r"|(?:gone|left|over|finished|stopped|ended|off|done|away|moved\s+on|calmed\s+down)"
    r"\s+(?:by\s+)?now|by\s+now|for\s+now|until\s+now|till\s+now|up\s+to\s+now|only\s+now"
    r"|(?:reporting|texting|telling\s+you|messaging|writing)\s+(?:it\s+|this\s+)?now"
    r"|(?:ago|earlier|(?:while|weeks?|months?|years?|ages|way)\s+back)\s+now"
    # A state that says it is over: "he's fine now", "she's safe now", "they've gone now".
    r"|(?:fine|safe|ok|okay|alright|all\s+right|calm|calmer|quiet|better|sorted|home|safe\s+and"
    r"\s+well|asleep|settled|gone|away|off|over|done|with\s+(?:her|his|their)\s+(?:mum|dad|family"
    r"|parents|nan|mate|mates|friends?)|with\s+(?:staff|police|the\s+police|officers|security))"
    r"\s+now|not\s+(?:happening|going\s+on)\s+(?:any\s*more|now)"
    r"|now\s+in\s+(?:a\s+)?(?:safe|secure)\s+(?:place|placement|home|house|unit)"
    r"|now\s+(?:safe|fine|ok|okay|home|gone|over|calm|sorted|back\s+together|reunited|with\s+(?:her|his|their)"
    r"\s+(?:mum|dad|mother|father|family|parents|grandmother|grandfather|nan|gran))"
    r"|(?:back\s+together|reunited|together)\s+now"
    r"|now\s+(?:and|n|&)\s+(?:safe|fine|ok|okay|home|sound|well)"
    # help has come, or they are safe: "police are here now", "shes sat with staff now"
    r"|(?:police|officers|staff|paramedics|security|ambulance|btp|guard|help|supervisor|manager)\s+(?:are|is|r|have|has)?\s*"
    r"(?:(?:sat|stood|sitting|standing)\s+)?(?:here|there|with\s+(?:him|her|them)|on\s+scene|arrived)?\s*now"
    r"|(?:being|been)\s+(?:looked\s+after|seen\s+to|treated|helped|cared\s+for)(?:\s+\w+){0,3}\s+now"
    r"|(?:with|sat\s+with|sat\s+down\s+with)\s+(?:staff|police|paramedics|security|her\s+\w+|his\s+\w+|family"
    r"|friends|my\s+\w+)(?:\s+\w+){0,4}\s+now"
    # the texter safe and on their way: "im in a taxi home with my mum now", "im now at harrow"
    r"|(?:i['’]?m|i\s+am|we['’]?re|we\s+are)\s+(?:in\s+(?:a|the|my)\s+(?:taxi|cab|car|uber)|on\s+(?:a|the|my|our)"
    r"\s+(?:train|bus|way))(?:\s+\w+){0,5}\s+now"
    r"|(?:i['’]?m|i\s+am|we['’]?re|we\s+are)\s+now\s+(?:at|in|on|with|safe|home|back)"
    r"|(?:in|at)\s+(?:the\s+)?(?:station\s+|police\s+)?(?:office|staff\s+room|waiting\s+room|control\s+room"
    r"|ambulance|hospital|police\s+station|a&e)(?:\s+\w+){0,3}\s+now"
    r"|(?:not|isnt|isn['’]t|aint)\s+(?:around|about|here|there)\s+(?:now|anymore|any\s+more)"
    r"|(?:safe|home|fine|ok|okay|back)(?!\s+(?:again|seats?|of|doors?|rows?)(?!\w))"
    r"(?!\s+(?:out\s+|over\s+)?to\s+(?:him|her|them|the\s+m[ae]n)(?!\w))(?:\s+\w+){1,4}\s+now"
    r"|doing\s+(?:much\s+|a\s+lot\s+|so\s+|loads\s+)?(?:better|well|fine|ok|okay|great)(?:\s+now)?"
    r"|(?:i['’]?m|i\s+am|hes|shes|he['’]s|she['’]s)\s+\d{1,2}\s+now"
    # the texter on their way, or the person somewhere safe: "im on a train to my sisters now"
    r"|(?:i['’]?m|i\s+am|we['’]?re|we\s+are)\s+on\s+(?:a|the|my|our)\s+(?:train|bus|way)(?:\s+\w+){0,5}\s+now"
    r"|now\s+(?:she|shes|she\s+is|he|hes|he\s+is|they|theyre|they\s+are)\s+(?:is\s+|are\s+)?(?:in|at)\s+"
    r"(?:the\s+)?(?:hospital|a&e|home|bed|school|work)"
    r"|now\s+(?:they|theyre|they\s+are|she|shes|she\s+is|he|hes|he\s+is|we|were|we\s+are)\s+(?:all\s+)?"
    r"(?:together|fine|safe|ok|okay|home|sorted|reunited|back|calm)"
    # "nothing is happening", "nothing going on now", "no one about now"
    r"|(?:nothing|nowt|nobody|no\s+one|noone)(?:\s+(?:is|wrong|bad))?\s+(?:happening|going\s+on|about|around|here"
    r"|there)(?:\s+(?:right\s+)?now)?"
    # a question about the future or the rules: "can it still go on record?"
    r"|(?:can|could|would|will|does|do|is|should)\s+(?:it|i|they|we|you|he|she)\s+still"
    r"|(?:he|she|they)['’]?(?:s|re)?\s+(?:is\s+|are\s+)?(?:at|in)\s+(?:the\s+)?(?:club|home|school|college"
    r"|work|hospital|bed|his\s+\w+|her\s+\w+)\s+now"
    # gone, and where to: "they've gone off different ways now"
    r"|(?:gone|left|walked\s+off|ran\s+off|split\s+up|moved\s+on|calmed\s+down|got\s+off|went\s+off)"
    r"(?!\s+back\s+(?:out\s+|over\s+|down\s+)?(?:to|with)\s)(?:\s+\w+){0,3}\s+now"
    # Where the texter is now is not the incident: "he got off, im at work now".
    r"|(?:i['’]?m|i\s+am|we['’]?re|we\s+are|got|back)\s+(?:at\s+|in\s+)?(?:work|home|school|college|uni"
    r"|the\s+office|my\s+desk|my\s+mums?|my\s+mates?)\s+now)" + _E
)
# "its now 9:30", "it's now half 9": the texter telling the time, not saying it is going on.
# Masked like the phrases above. Only after "its", "it is" or "time is": "now at 9:30 he got
# on" keeps its "now", and any other sign in the text ("its now 9:30 and hes still following
# me") still says it is going on.
_HOUR = r"(?:\d{1,2}|one|" + NUM_WORD + r")"
_TIMES = "|".join(
    [
        r"\d{1,2}[:.]\d{2}(?:\s*[ap]\.?m\.?)?",  # 9:30, 9.30pm, 21:30
        _HOUR + r"\s*(?:[ap]\.?m\.?|o['’]?\s?clock)",  # 9pm, nine oclock
        r"(?:half|quarter|\d{1,2}|" + NUM_WORD + r")\s+(?:past|to)\s+" + _HOUR,
        r"half\s+" + _HOUR,  # half 9
        r"midnight|midday|noon",
    ]
)
_CLOCK = r"(?:(?:about|around|nearly|almost|gone|just\s+gone)\s+)?(?:" + _TIMES + ")"
_CLOCK_NOW = re.compile(
    r"(?:^|(?<=[.!?]\s))now\s+(?:" + _CLOCK + r")" + _E + "|" +
    _W + r"(?:it['’]?s|it\s+is|time\s+is)\s+"
    r"(?:now\s+(?:" + _CLOCK + r"|\d{1,2}(?=\s*(?:[.!?]|$)))|" + _CLOCK + r"\s+now)" + _E
)
_ARRIVED = re.compile(
    r"(?:police|officers|staff|paramedics|security|ambulance|btp|guard|help|supervisor|manager"
    r"|(?:with|sat\s+with|sat\s+down\s+with)\s+(?:staff|police|paramedics|security))"
)
_ENDED_NOW = re.compile(
    r"just\s+now|not|isn|gone|left|over|finished|stopped|ended|off|done|away|moved|calmed"
)

# "standing still" is about keeping still, not about it going on.
_STILL_AS_MOTIONLESS = (
    "standing stood stand sit sat stay keep kept sitting staying lie lying hold be".split()
)
_NOW = re.compile(
    _W + r"(?:right\s+now|happening\s+now|now+|rn|atm|at\s+the\s+moment|as\s+we\s+speak"
    r"|as\s+i\s+(?:type|text|write|speak)|currently|ongoing|on-going|in\s+progress"
    r"|(?:still\s+)?happening|(?:still\s+)?going\s+on"
    r"|"
    + "".join(rf"(?<!{w}\s)" for w in _STILL_AS_MOTIONLESS)
    + r"still(?!\s+(?:not|no|never|haven|havent|haven't|hasnt|hasn't|dont|don't|didnt|didn't"
    r"|doesnt|doesn't|cant|can't|scared|shaking|upset|shocked|in\s+shock|got|have|has|hurts|aching|sore"
    # what is left behind: "the toilets are still a mess", "still blood on the steps"
    r"|(?:a|an)(?!\w)|blood|glass|mess|needles|sick|vomit|debris|broken\s+glass"
    r"|feel|feeling|thinking|waiting\s+for\s+(?:a|the)"
    r"\s+(?:reply|response|answer)|think|remember|have\s+(?:his|her|a|the)\s+(?:photo|picture)))"
    # The word after "still" makes the evidence readable: "still there", "still at it".
    r"(?:\s+(?:here|there|at\s+it|going(?:\s+on)?|on\s+(?:the\s+)?\w+|with\s+\w+|behind\s+\w+"
    r"|next\s+to\s+\w+|now|[a-z]+ing))?"
    r")" + _E
)

# Minutes per unit, by the unit's first letter ("m" is minutes: months become weeks first).
_UNIT_MINUTES = {"s": 1 / 60, "m": 1, "h": 60, "d": 1440, "n": 1440, "w": 10080, "y": 525600}
_COUNT = (
    r"(?P<n>\d{1,3}|" + NUM_WORD + r"|an?|one|a\s+few|few|a\s+couple(?:\s+of)?|couple(?:\s+of)?"
    r"|several|half(?:\s+an?)?|a\s+half|a\s+quarter\s+of\s+an|quarter\s+of\s+an|a\s+bit|a\s+little)"
)
_AGO = re.compile(
    _W + r"(?P<over>over\s+|more\s+than\s+)?" + _COUNT + r"\s*-?\s*"
    r"(?P<u>secs?|seconds?|mins?|minutes?|mns|m|hrs?|hours?|h|days?|nights?|weeks?|wks?|months?"
    r"|mo|years?|yrs?|while|bit|moments?)(?P<half>\s+and\s+a\s+half)?"
    r"\s+(?:ago|back|before|earlier)" + _E
)
_RECENT = re.compile(
    _W + r"(?:just\s+now|only\s+just(?!\s+(?:felt|feel|decided|got\s+round|remembered|realised|realized"
    r"|managed|plucked|found|had|worked|been\s+able|thought|think|got\s+round|plucked\s+up))|just\s+happened|not\s+long\s+ago|moments?\s+ago|seconds\s+ago"
    r"|a\s+(?:min|minute|sec|second|moment)\s+ago"
    r"|(?:in|within)\s+the\s+last\s+(?:hour|half\s+(?:an\s+)?hour|few\s+min\w*|\d{1,2}\s*min\w*))"
    + _E
)
_PAST = re.compile(
    _W + r"(?:yesterday|overnight|in\s+(?:january|february|march|april|june|july|august|september|october"
    r"|november|december)|back\s+in\s+(?:jan\w*|feb\w*|march|april|may|june|july|aug\w*|sep\w*|oct\w*"
    r"|nov\w*|dec\w*|the\s+\w+|spring|summer|autumn|winter|\d{4})|last\s+(?:nights?|week|month|year|weekend|time|mon(?:day)?|tue(?:s|sday)?"
    r"|wed(?:s|nesday)?|wensday|thu(?:r|rs|rsday)?|fri(?:day)?|sat(?:urday)?|sun(?:day)?|term|summer|winter"
    r"|spring|autumn|christmas|easter|year)"
    r"|(?:on\s+)?(?:mon|tues|wednes|thurs|fri|satur|sun)day(?:\s+(?:night|morning|afternoon|evening))?"
    r"|last\s+(?:few|couple\s+of|two|2|three|3)\s+(?:days|nights|weeks|weekends|months|times)"
    r"|the\s+other\s+(?:day|night|week)"
    r"|this\s+(?:morning|afternoon)|earlier\s+(?:today|on|this\s+\w+)|earlier"
    r"|(?:around|about|at|this)\s+lunch(?:time)?"
    r"|(?:a\s+)?(?:long\s+)?(?:while|ages|time)\s+ago|days\s+ago|weeks\s+ago|months\s+ago"
    r"|years\s+(?:ago|back)|ages\s+back|way\s+back|over\s+an\s+hour\s+ago|a\s+few\s+hours\s+ago|couple\s+of\s+hours\s+ago)" + _E
)
_ONGOING = re.compile(
    _W + r"(?:(?:is|are|am|hes|shes|theyre|im|(?:he|she|they|i|it|who)['’]?(?:s|re|m))"
    r"\s+(?:still\s+|now\s+|currently\s+)?(?!going\s+to|gonna|thinking|hoping|saying|telling"
    # the texter's own errand is not the incident: "im asking for my nan"
    r"|asking|texting|messaging|writing|reporting|wondering|checking|calling|ringing|emailing"
    r"|enquiring|inquiring|contacting|trying\s+to\s+find)"
    r"(?!(?:any|some|no|every)thing)[a-z]{2,}ing|keeps?\s+[a-z]{2,}ing"
    r"|been\s+(?:following|staring|harassing|pestering|bothering|touching|shouting|hitting"
    r"|fighting|kicking|punching|threatening|filming|watching|sat|sitting|standing)\s+"
    r"(?:me|her|him|them|us|my|at|there|here|on|next|by|outside))"
    # "been stood on the yellow line for 20 mins": still going on.
    r"|been\s+(?:stood|standing|sat|sitting|there|here|waiting|on|at|by|hanging|lying|crying)"
    r"(?:\s+\S+){0,16}?\s+for\s+(?:the\s+(?:last|past)\s+)?(?:\d{1,3}|a\s+few|ages|a\s+while|about)" + _E
)
# A present state in a place: "she is alone at inverness", "he's stuck on platform 2".
_PRESENT_STATE = re.compile(
    _W + r"(?:(?:is|are|am|(?:he|she|they|i)\s+(?:is|are|am)|(?:he|she|they|i)['’]?(?:s|re|m)|hes|shes|theyre|im)"
    r"\s+(?:still\s+)?(?:all\s+)?(?:(?:alone|stuck|stranded|lost|hiding|starving|shivering|freezing|soaked"
    r"|bleeding|unconscious|injured|trapped|knocked\s+out|out\s+cold|passed\s+out|collapsed|slumped|doubled\s+over"
    r"|floppy|unresponsive|on\s+(?:his|her|their|my)\s+own(?!\s+(?:train|bus|way|journey|car|taxi))"
    r"|by\s+(?:himself|herself|themselves|myself)|on\s+the\s+(?:floor|ground|tracks|track|line|edge))"
    r"(?:\s+(?:at|on|in|by|near|outside|inside|here|there))?"
    r"|(?:sat|stood)\s+(?:at|on|in|by|near|outside|inside|here|there))"
    r"|(?:not|isnt|isn['’]t|aint)\s+(?:responding|breathing|moving|waking|conscious|answering)"
    r"|(?:barely|hardly|stopped|struggling|cant|can['’]t)\s+breathing"
    # told tersely, as it is seen: "he lying there", "he not get up"
    r"|(?<!\w)(?:he|she|they)\s+(?:still\s+)?(?:lying|laying|not\s+(?:get|getting|moving|move|breathing|wake|waking))"
    r"|(?:gone|going|turned|turning)\s+(?:unresponsive|floppy|limp|blue|grey|gray|unconscious)"
    # the texter and others taking cover: "were all hiding in the next carriage"
    r"|(?:were|we['’]re|we\s+are|im|i['’]m|i\s+am|everyone['’]?s|everyone\s+is|people\s+are)\s+(?:all\s+)?"
    r"(?:hiding|locked\s+in|barricaded|cowering|crouching|ducking|trapped)"
    # someone on board with the texter: "the missing lad is on my train", "hes in coach C"
    r"|(?<!was\s)(?:is|are)\s+on\s+(?:my|this|our|the\s+same)\s+(?:train|carriage|coach|bus)"
    r"|(?<!was\s)(?:hes|shes|theyre|he['’]s|she['’]s|they['’]re|he\s+is|she\s+is|they\s+are)\s+(?:still\s+)?"
    r"in\s+(?:coach|carriage)\s+\w+"
    r"|(?:(?:is|are|hes|shes|theyre|he['’]s|she['’]s|they['’]re|still|been)\s+(?:sat|stood)|sitting|standing)"
    r"\s+(?:right\s+)?(?:across\s+from|opposite|next\s+to|beside|behind|in\s+front\s+of)\s+(?:her|him|them|me|us)"
    # the texter's own wish to die, said in the present
    r"|(?:i|im|i['’]m)\s+(?:just\s+)?(?:dont|don['’]t|do\s+not)\s+want\s+to\s+(?:be\s+here|live|go\s+on|be\s+alive)"
    r"|i\s+(?:just\s+)?want\s+(?:everything|it|it\s+all|this)\s+to\s+(?:stop|end)"
    r"|i\s+(?:cant|can['’]t|cannot)\s+(?:do\s+this|go\s+on|take\s+(?:it|this)|cope|carry\s+on)"
    r"(?:\s+(?:any\s*more|no\s+more))?"
    r"|(?:legs|feet)\s+(?:dangling|hanging|over)\s+(?:off|over)"
    r"|(?:i['’]?m|i\s+am)\s+(?:stood\s+|sat\s+|standing\s+|sitting\s+|still\s+)?(?:with\s+(?:her|him|them)"
    r"|(?:at|on)\s+the\s+(?:far\s+)?(?:end|edge|bridge|footbridge|tracks))"
    r"|at\s+present|presently"
    # where the person is: "says hes at skegness station", "shes in the toilets at yeovil"
    r"|(?<!was\s)(?:hes|shes|theyre|he['’]s|she['’]s|they['’]re|he\s+is|she\s+is|they\s+are)\s+(?:still\s+)?"
    r"(?:at|on|in)\s+(?:the\s+)?(?:[a-z]+\s+){0,3}?(?:station|platform|plat|train|toilets?|loos?)"
    # waiting for them now: "he just texted her he is outside"
    r"|(?<!was\s)(?:hes|shes|theyre|he['’]s|she['’]s|they['’]re|he\s+is|she\s+is|they\s+are)\s+(?:still\s+)?"
    r"(?:outside|waiting\s+(?:outside|for\s+(?:her|him|them)|in\s+the\s+car))"
    # begun earlier, still going on: "sat on plat 12 since about 10 this morning"
    r"|(?:been\s+(?=sat|stood|sitting|standing|waiting|lying|there|here|on|at|in|by|outside|hanging)"
    r"|sat\s|stood\s|sitting\s|standing\s|waiting\s)(?:\S+\s+){0,8}?since"
    r"|(?:got|has|have|hes\s+got|shes\s+got)\s+(?:\S+\s+){0,2}?in\s+a\s+(?:headlock|chokehold|choke\s+hold|armlock)"
    # "hes got hold of her", "he's got his hand on her leg": holding now, whatever began earlier
    r"|(?<!had\s)(?:has|have|hes|shes|theyve|he['’]s|she['’]s|they['’]ve|he\s+has|she\s+has|they\s+have)"
    r"\s+(?:still\s+)?got\s+(?:hold\s+of|(?:his|her|their)\s+(?:hands?|arms?|fingers?)\b)"
    # someone wanting to die, said in the present: "shouting she wants to die"
    r"|(?:wants|want|wanna)\s+to\s+(?:die|end\s+it|kill\s+(?:himself|herself|myself|themselves))"
    # the texter's own intent to take their life is happening now
    r"|(?:i['’]?m|i\s+am)\s+(?:going\s+to|gonna|about\s+to)\s+(?:jump|walk|step|end|kill|throw|do\s+it)"
    r"|(?:on\s+(?:his|her|their)\s+own|alone)\s+(?:crying|cryin|sobbing|shaking|scared|lost)"
    r"|(?:crying|cryin|sobbing)\s+(?:on\s+(?:his|her|their)\s+own|alone)"
    r"|(?:just\s+)?found\s+(?:a|an|this|the|some)\s+(?:\w+\s+){0,2}?(?:on\s+(?:his|her|their)\s+own|alone"
    r"|crying|sat|sitting|standing|wandering|lost|asleep|hiding)"
    r"|(?:there['’]?s|there\s+is|theres)\s+(?:a|an|some|this|two|2|three|3)\s+(?:\w+\s+){0,2}?(?:sat|stood"
    r"|sitting|standing|lying|laying|crying|alone|hiding|on\s+(?:his|her|their)\s+own)"
    r"|(?:has|have|hes|shes|theyve|he['’]s|she['’]s|they['’]ve)\s+(?:just\s+)?(?:climbed|collapsed|fallen"
    r"|passed\s+out|stepped|got\s+(?:onto|over|down)|jumped\s+(?:onto|down|over))"
    r"|(?<!was\s)(?<!were\s)(?<!been\s)(?:standing|sitting|stood|sat|lying|laying|hanging|holding\s+on"
    r"|leaning|crouching)\s+(?:on|over|at"
    r"|by|near|against|off|onto|right\s+on)\s+(?:the\s+)?(?:edge|outside|railings?|rails|tracks?|line"
    r"|bridge|parapet|wall|fence|platform\s+edge|wrong\s+side))" + _E
)
# Told as a scene, one clause at a time: "girl about 14 passed out on a bench", "boy about 10
# asleep on a bench ... that train left 20 mins ago": the state in its own clause is now.
# ("sat" and "stood" are left out: "a man sat next to me" is as often the past tense.)
_PERSON = (r"(?:man|woman|men|women|lads?|lass|boys?|girls?|guys?|blokes?|kids?|child|baby|toddler|teenagers?"
           r"|teens?|lady|ladies|someone|person|passenger|fella|youths?)")
_SCENE_STATE = re.compile(
    _W + _PERSON + r"(?:\s+\S+){0,4}?\s+(?:asleep|passed\s+out|slumped|lying|laying|collapsed|unconscious"
    r"|out\s+cold|sitting|standing|alone|on\s+(?:his|her|their)\s+own|crying|screaming|shaking"
    r"|wandering|hiding)\s+(?:on|at|in|by|near|under|beside|outside|inside|against|next|behind|between)"
    r"|" + _PERSON + r"(?:\s+\S+){0,2}?\s+(?:are|is|r)\s+(?:still\s+)?(?!going\s|gonna\s|thinking\s|saying\s)"
    r"[a-z]{3,}ing\s+(?:a|an|the|her|him|them|me|us|at|into|on)" + _E +
    r"|" + _PERSON + r"(?:\s+\S+){0,4}?\s+being\s+(?:pushed|dragged|pulled|carried|led|taken|held|followed|touched"
    r"|hit|attacked|beaten|kicked|punched|grabbed|bundled|forced|shoved|groped|chased|threatened)" + _E
)
_CLAUSE = re.compile(r"[^.!?,;]+")
_HABITUAL = re.compile(
    _W + r"(?:(?:most|every|each)\s+(?:morning|day|night|week|evening|afternoon|time)s?|usually|often|always"
    r"|sometimes|regularly|normally)" + _E
)
# An attempt under way: "tryna take his chain", "trying to drag her off".
_ATTEMPT = re.compile(
    _W + r"(?<!was\s)(?<!were\s)(?:tryna|trying\s+to|tryin\s+to|tryin\s+ta)\s+(?:take|grab|pull|drag|snatch"
    r"|rob|force|push|break|open|climb|jump|get\s+(?:her|him|them|in|on|into)|kiss|touch|make\s+(?:her|him))" + _E
)
_TERSE_AT = re.compile(
    _W + _PERSON + r"\s+(?!(?:no|some|any|every)thing)[a-z]{3,}ing\s+(?:\S+\s+){0,2}?(?:at|towards|to)\s+"
    r"(?:(?:a|an|the|this|that|some|another|other|one)\s+)?(?:\S+\s+)?(?:" + _PERSON + r"|him|her|them|me|us)" + _E
)


def _scene_now(low: str) -> re.Match[str] | None:
    for clause in _CLAUSE.finditer(low):
        m = _SCENE_STATE.search(clause.group())
        if m and not any(p.search(clause.group()) for p in (_PAST_CUE, _PAST, _HABITUAL)):
            return _SCENE_STATE.search(low, clause.start() + m.start())
    return None


_SAW = re.compile(_W + r"(?:saw|seen)" + _E)


def _present_state(low: str) -> re.Match[str] | None:
    """A present state, unless its own clause dates it: "i saw kids sitting on the wall by the
    line last week" is a memory, not a scene."""
    for m in _PRESENT_STATE.finditer(low):
        clause = next((c.group() for c in _CLAUSE.finditer(low) if c.start() <= m.start() < c.end()), "")
        if not (_PAST.search(clause) and _SAW.search(clause)):
            return m
    return None


_DENIED = re.compile(
    _W + r"(?:(?:its|it['’]s|it\s+is|this\s+is)\s+not\s+(?:happening|going\s+on)"
    r"|not\s+happening\s+(?:right\s+)?now|isn['’]?t\s+happening\s+now|its\s+all\s+over)" + _E
)
# Back again, or at it again: whatever happened before, it is happening now ("the man who was
# waving a bottle earlier has come back onto platform 2", "theyre back at the bottom of the
# stairs", "the same men from yesterday are on platform 3 again"). Not back home or back with
# family, which is the end of it.
_RETURNED = re.compile(
    _W + r"(?:back\s+at\s+it|at\s+it\s+again|(?:started|starting|kicking\s+off|kicked\s+off)\s+again"
    r"|(?:has|have|hes|shes|he['’]s|she['’]s|they['’]?ve|theyve|they['’]?re|theyre|is|are)\s+(?:just\s+)?"
    r"(?:come\s+|got\s+)?back(?!\s+(?:home|with|to|safe|in\s+bed|from|together|now\s+safe))"
    r"|(?:is|are|re|s)\s+(?:on|at|in|outside|by|near|round|around)(?!\w)[^.!?\n]{0,60}(?<!\w)again"
    # gone back to the danger: "shes gone back out to him"
    r"|(?:gone|went|going|run|ran)\s+back\s+(?:out\s+|over\s+|down\s+)?(?:to|with)\s+(?:him|her|them|the\s+man|the\s+men))" + _E
)
# Telling the day or the hour, not when it happened: "its tuesday morning and theres a boy".
_DAY_TOLD = re.compile(
    _W + r"it['’]?s\s+(?:(?:a\s+)?(?:mon|tues|wednes|thurs|fri|satur|sun)day\s+)?"
    r"(?:morning|afternoon|evening|night|lunchtime|teatime)" + _E
)
_REPORTED = re.compile(
    _W + r"(?:says|said|saying|(?:they|she|he|we)\s+say|told\s+(?:me|us|staff|the\s+\w+|a\s+\w+)|reckons|claims|claimed)(?!\w)[^.!?;,\n]*"
)
# Terse texts drop the "is": "girl crying man grabbing her" is told as it happens, unless
# something in the text puts it in the past ("saw a man grabbing her").
_TERSE = re.compile(
    _W + r"(?:(?:man|woman|men|women|lads?|boys?|girls?|guys?|blokes?|kids?|someone|people|he|she|they|couple|pair|teenagers?|passengers?|lady|ladies|lass"
    r"|gang|group|teens?|fella|geezer|youths?|olders?|em|them)\s+(?!(?:no|some|any|every)thing)"
    r"(?:[a-z]{3,}ing)\s+(?:her|him|them|me|us|a|an|the|at|on|into|people|someone|his|my|each|about"
    r"|around|round|off)"
    # or any doing to a person: "laying into one guy", "starin at the school kids"
    r"|(?!(?:no|some|any|every)thing)[a-z]{3,}ing\s+(?:(?:into|at|on|onto|up\s+to|after)\s+)?"
    r"(?:(?:a|an|one|the|this|that|some|his|her|their|another|other)\s+)?(?:guy|man|woman|girl|boy|lad|kid|kids|bloke"
    r"|person|people|her|him|them|me|us|someone|everyone|staff|passengers?|himself|herself|school\s+kids"
    r"|schoolgirls?|schoolboys?|women|girls|children|partner|girlfriend|boyfriend|wife|husband))" + _E
)
# "2 men sat across from her": present, unless something in the text puts it in the past.
_SAT_WITH = re.compile(
    _W + r"(?:sat|stood)\s+(?:right\s+)?(?:across\s+from|opposite|next\s+to|beside|behind|either\s+side\s+of)"
    r"\s+(?:her|him|them|me|us)" + _E
)
_PAST_CUE = re.compile(
    _W + r"(?:saw|seen|was|were(?!\s+\d)|had|did|earlier|ago|yesterday|last|then|tomorrow"
    r"|tonight|later|will(?!\s+(?:jump|step|end|kill|throw|do\s+it)))" + _E
)
# What cannot be done or will not stop is going on: "he wont let go", "cant wake her",
# "it wont stop bleeding", "we cant find her".
_PRESENT_CANT = re.compile(
    _W + r"(?:wont|won['’]t|will\s+not|cant|can['’]t|cannot|can\s+not)\s+(?:let\s+(?:go|me|her|him|them|us)"
    r"|stop\s+(?:\w+ing|it)|wake|get\s+(?:her|him|them)\s+(?:up|to)|breathe|stand|move|find\s+(?:her|him|them|my|our)"
    r"|get\s+(?:away|out|off)|escape|calm\s+(?:her|him|them)|reach)" + _E
)
# A texter asking for help to come is asking for it now: "please hurry", "send someone".
_URGENT = re.compile(
    _W + r"(?:(?:please|pls|plz)\s+(?:hurry|be\s+quick)|hurry|come\s+(?:quick|quickly|fast|now)"
    r"|send\s+(?:someone|somebody|help|police|the\s+police|an?\s+officer|officers)|asap|urgent(?:ly)?"
    r"|(?:is|are|r)\s+due(?:\s+in)?|(?:train|one)\s+(?:is\s+)?(?:coming|due)"
    # a fire told as it is seen: "smoke pouring out", "theres a fire in the bin"
    r"|(?:smoke|flames|fire)\s+(?:is\s+|are\s+)?(?:coming|pouring|filling|spreading|billowing|everywhere|getting)"
    r"|there['’]?s\s+(?:a\s+)?(?:fire|smoke|flames))" + _E
)
# A stated intent to take one's life is a danger now: "he say he will jump", "gna step off".
_INTENT = re.compile(
    _W + r"(?<!was\s)(?<!were\s)(?:will|gonna|gna|going\s+to|goin\s+to|about\s+to|threatening\s+to"
    r"|trying\s+to|tryin\s+to)\s+(?:jump|step|walk\s+(?:in|out|onto)|throw|end\s+it|kill|go\s+under|do\s+it)"
    + _E
)
_TRAVEL_JUST = re.compile(
    r"(?:we|i|train|it|bus)\s+(?:have\s+|'ve\s+|’ve\s+)?just\s+(?:left|passed|pulled|departed|arrived"
    r"|got\s+on|got\s+off|stopped|changed|boarded|set\s+off|came\s+out|come\s+out|gone\s+past)" + _E
)
_JUST_VERB = re.compile(
    _W + r"just\s+(?:\w+ed|got|left|ran|hit|took|stole|nicked|went|saw|came|did|threw|said|had"
    r"|put|stuck|bit|spat|swung|fought|stood|shot|cut|sent|made|gave|started|happened|been"
    r"|drove|rode|fled|fell|broke|spoke|hid|sped|caught|told|sold|held|kept|sat|met|led|lost"
    r"|paid|heard|found|beat|blew|drew|flew|knew|rang|shook|shut|swore"
    r"|struck|tore|woke|wore|wrote|pushed|legged)" + _E
)
_ENDED = re.compile(
    _W + r"(?:not\s+any\s*more|no\s+longer|it['’]?s\s+(?:over|finished|stopped|ended|done)"
    r"|(?:it|they|he|she)\s+(?:has\s+|have\s+|had\s+)?(?:stopped|finished|ended)"
    r"|(?:they|he|she|we)(?:['’]?ve|['’]?s|\s+have|\s+has)?\s+(?:all\s+)?(?:got\s+off|gone|left"
    r"|ran\s+off|run\s+off|walked\s+off|legged\s+it|disappeared|moved\s+on|got\s+on\s+a\s+train)"
    r"|(?:theyve|theyre|hes|shes)\s+(?:gone|left)|(?:gone|left)\s+now"
    r"|(?:drove|driven|ran|run|walked|went|rode|sped|cycled|legged\s+it)\s+(?:off|away)"
    r"|got\s+away)" + _E
)
# Help has come to something over: "a man had a seizure 20 mins ago, paramedics are with him
# now", "staff talked her back earlier, shes in the office now". The "now" is the aftermath.
_HELP = re.compile(
    _W + r"(?:police|officers?|cops|staff|paramedics|ambulance|btp|security|medics|first\s+aiders"
    r"|guards?|a&e|hospital)" + _E
)
_GOING_ON = re.compile(r"still|happening|going\s+on|right\s+now|as\s+we\s+speak|rn|atm")


def _aftermath(low: str, now: re.Match[str]) -> bool:
    stated = _AGO.search(low) or _RECENT.search(low) or _PAST.search(low)
    return bool(stated and _HELP.search(low) and not _GOING_ON.search(now.group()))


_SUBORDINATE = re.compile(r"(?<!\w)(?:since|when|after|before|as|until|once|till|til)\s+$")
_YES = re.compile(
    r"\s*(?:yes+|yeah+|yea|yeh|ya|yah|yep|yup|yh|ye|y|aye|correct|it\s+is|yes\s+it\s+is)"
    r"(?![a-z])"
)
_NO = re.compile(r"\s*(?:no+|nope|nah|na|not\s+at\s+the\s+moment|not\s+right\s+now)(?![a-z])")
_UNKNOWN = re.compile(
    _W + r"(?:don['’]?t\s+know|do\s+not\s+know|dont\s+no|not\s+sure|no\s+idea|dunno|idk|unsure"
    r"|can['’]?t\s+(?:remember|say|tell)|no\s+clue|not\s+certain)" + _E
)


def _minutes(m: re.Match[str]) -> float:
    count = m.group("n").strip()
    unit = m.group("u")
    if unit == "while":
        return 30 if "little" in count else 90
    if unit in ("bit", "moment", "moments"):
        return 2
    if count.startswith(("half", "a half")):
        n: float = 0.5
    elif "quarter" in count:
        n = 0.25
    elif count in ("a", "an", "one"):
        n = 1
    elif "couple" in count:
        n = 2
    elif "few" in count or count == "several":
        n = 3
    elif count in ("a bit", "a little"):
        n = 1
    else:
        n = number_value(count) or 0
    if m.group("half"):
        n += 0.5
    key = unit[0]
    if unit == "mo" or unit.startswith("month"):
        key, n = "w", n * 4
    minutes = n * _UNIT_MINUTES[key]
    return minutes + (1 if m.group("over") else 0)


def extract_immediacy(text: str, *, answering: bool = False) -> ImmediacyFact | None:
    """When it happened, with the words that say so; None when the text does not say."""
    low, where = normalised(text)

    def _fact(value: Immediacy, text_: str, m: re.Match[str]) -> ImmediacyFact:
        quoted = text[where[m.start()] : where[m.end() - 1] + 1] if m.end() > m.start() else ""
        return ImmediacyFact(value=value, text=quoted.strip())

    source = text

    # 1. Now, after masking the phrases where "now" means the opposite.
    ended_now = arrived = None
    masked = low
    for m in _NOT_NOW.finditer(low):
        masked = masked[: m.start()] + " " * (m.end() - m.start()) + masked[m.end() :]
        if ended_now is None and _ENDED_NOW.match(m.group()):
            ended_now = m
        if arrived is None and _ARRIVED.match(m.group()):
            arrived = m
    for m in _CLOCK_NOW.finditer(low):
        masked = masked[: m.start()] + " " * (m.end() - m.start()) + masked[m.end() :]
    now = (_NOW.search(masked) or _RETURNED.search(masked) or _present_state(masked)
           or _scene_now(masked))
    # Help that came to something over is its aftermath; a danger come back is not over.
    if now and not _RETURNED.fullmatch(now.group()) and _aftermath(low, now):
        now = None
    if now and not _DENIED.search(low):  # "it's not happening now" is the texter's own answer
        return _fact("now", source, now)

    # 2. A stated time; the most recent one counts. What someone says of their own story
    # ("says she ran off from home this morning") is not when this is happening.
    story = _REPORTED.sub(lambda m: " " * len(m.group()), low)
    story = _DAY_TOLD.sub(lambda m: " " * len(m.group()), story)
    best: tuple[float, re.Match[str]] | None = None
    for m in _AGO.finditer(story):
        minutes = _minutes(m)
        if best is None or minutes < best[0]:
            best = (minutes, m)
    recent = _RECENT.search(story)
    if recent and (best is None or best[0] > 60):
        return _fact("recent", source, recent)
    if best is not None:
        return _fact("recent" if best[0] <= 60 else "past", source, best[1])
    past = _PAST.search(story)
    if past:
        return _fact("past", source, past)

    # 3. Told as going on ("a man is shouting at a woman and just slapped her"); unless help
    # has come, when what is told in the present is the scene after ("btp are here now, his
    # nose is pouring").
    if arrived is None:
        m = _ONGOING.search(low)
        if m:
            return _fact("now", source, m)
        m = (_PRESENT_CANT.search(low) or _URGENT.search(low) or _INTENT.search(low)
             or _ATTEMPT.search(low))
        if m and not _PAST_CUE.search(low):
            return _fact("now", source, m)
        m = _TERSE.search(low) or _SAT_WITH.search(low) or _TERSE_AT.search(low)
        if m and not _PAST_CUE.search(low):
            return _fact("now", source, m)


    # 4. Just happened, or has just ended (in the texter's words, not someone's story).
    low = story
    travel = [m.span() for m in _TRAVEL_JUST.finditer(low)]
    for m in _JUST_VERB.finditer(low):
        if not any(start <= m.start() < end for start, end in travel):
            return _fact("recent", source, m)
    # "following her since she got off" is when it began, not that it ended.
    ended = [m for m in _ENDED.finditer(low) if not _SUBORDINATE.search(low, 0, m.start())]
    for m in (ended[0] if ended else None, ended_now, arrived):
        if m:
            return _fact("recent", source, m)

    # 5. A bare answer to "is it happening now?".
    if answering:
        m = _YES.match(low)
        if m:
            return _fact("now", source, m)
        m = _UNKNOWN.search(low)
        if m:
            return _fact("unknown", source, m)
        m = _NO.match(low)
        if m:
            return _fact("recent", source, m)
    return None
