package domain

import bilatv1 "bilat.dev/proto/bilat/v1"

// lexicon is the domain classifier's vocabulary: per domain, English and
// Russian word prefixes (stems, so "научно-техническом", "scientific" and
// "science" all hit science_technology) and phrases, each with a weight.
// A domain is labelled when the weights of the distinct terms found in the
// title and text reach DomainThreshold. Strong words weigh 1; words that
// only hint at a domain weigh 0.5 and need a second hint. Terms are
// written as sources write them and turned into Key form at start-up;
// "$" means the whole word ("gas$" is not "gastronomy").
var lexicon = map[bilatv1.Domain][]weighted{
	// DOMAIN_UNSPECIFIED holds neutral phrases: names of institutions
	// whose words say nothing about the subject ("Academy of Sciences" is
	// not science cooperation). They take their words away from shorter
	// terms and label nothing.
	bilatv1.Domain_DOMAIN_UNSPECIFIED: {
		{"academy sciences", 0}, {"академи наук", 0}, {"national academy", 0}, {"social sciences", 0},
		{"science technology park", 0}, {"university science technology", 0}, {"university technology", 0},
	},
	bilatv1.Domain_DOMAIN_TRADE: {
		{"trade", 1}, {"торгов", 1}, {"торгово", 1}, {"export", 1}, {"экспорт", 1}, {"import", 1}, {"импорт", 1},
		{"supply", 1}, {"supplies", 1}, {"supplying", 1}, {"поставк", 1}, {"поставок", 1}, {"dealer", 1}, {"дилер", 1},
		{"commerce", 1}, {"commercial", 0.5}, {"товарооборот", 1}, {"turnover", 1}, {"market", 0.5}, {"рын", 0.5},
		{"exhibition", 0.5}, {"выставк", 0.5}, {"fair$", 0.5}, {"ярмарк", 0.5}, {"contract", 0.5}, {"контракт", 0.5},
		{"chamber commerce industry", 1}, {"торгово промышленн палат", 1}, {"chamber commerce", 1},
		{"sale", 1}, {"purchase", 1}, {"закупк", 1}, {"free trade", 1}, {"goods", 0.5}, {"товар", 0.5},
	},
	bilatv1.Domain_DOMAIN_ECONOMIC: {
		{"econom", 1}, {"экономик", 1}, {"экономическ", 1}, {"business", 0.5}, {"бизнес", 0.5}, {"деловой", 0.5},
		{"development strategy", 0.5}, {"chamber commerce industry", 1}, {"торгово промышленн палат", 1},
		{"chamber commerce", 1}, {"entrepreneur", 1}, {"предпринимател", 1}, {"economy", 1},
	},
	bilatv1.Domain_DOMAIN_INVESTMENT: {
		{"invest", 1}, {"инвест", 1}, {"industrial park", 1}, {"индустриальн парк", 1}, {"joint venture", 1},
		{"совместн предприят", 1}, {"capital", 0.5}, {"капитал", 0.5}, {"special economic zone", 1},
	},
	bilatv1.Domain_DOMAIN_INDUSTRY: {
		{"industr", 1}, {"промышлен", 1}, {"manufactur", 1}, {"production", 0.5}, {"производств", 0.5},
		{"assembly", 1}, {"assembled", 1}, {"сборк", 1}, {"сборочн", 1}, {"machine building", 1}, {"машиностро", 1},
		{"tractor", 0.5}, {"трактор", 0.5}, {"factory", 0.5}, {"завод", 0.5}, {"plant$", 0.5}, {"engineering", 0.5},
		{"metallurg", 1}, {"металлург", 1}, {"chemical", 0.5}, {"химическ", 0.5}, {"electric buses", 0.5}, {"vehicles", 0.5},
	},
	bilatv1.Domain_DOMAIN_AGRICULTURE: {
		{"agricult", 1}, {"сельск хозяйств", 1}, {"сельскохозяйствен", 1}, {"агропромышлен", 1}, {"agro", 1}, {"агро", 1},
		{"agri", 1}, {"farm", 1}, {"ферм", 1}, {"food", 0.5}, {"продовольств", 1}, {"продукт питан", 0.5}, {"crop", 1},
		{"veterinar", 1}, {"ветеринар", 1}, {"phytosanitar", 1}, {"фитосанитар", 1}, {"livestock", 1}, {"животновод", 1},
		{"irrigat", 1}, {"мелиорац", 1}, {"fertili", 1}, {"удобрен", 1}, {"harvest", 1}, {"комбайн", 1}, {"dairy", 1},
		{"meat", 0.5}, {"мяс", 0.5}, {"milk", 0.5}, {"молок", 0.5}, {"молочн", 0.5}, {"tractor", 0.5}, {"трактор", 0.5},
		{"rural", 0.5}, {"сельск", 0.5}, {"grain", 1}, {"зерн", 1}, {"seed", 1}, {"семен", 0.5},
	},
	bilatv1.Domain_DOMAIN_ENERGY: {
		{"energ", 1}, {"энерг", 1}, {"oil$", 1}, {"нефт", 1}, {"gas$", 1}, {"газ$", 1}, {"газа$", 1}, {"газов", 1},
		{"electricity", 1}, {"электроэнерг", 1}, {"power plant", 1}, {"электростанц", 1}, {"nuclear", 1}, {"атомн", 1},
		{"renewable", 1}, {"возобновляем", 1}, {"petroleum", 1}, {"refinery", 1}, {"нефтеперераб", 1}, {"fuel", 1}, {"топлив", 1},
	},
	bilatv1.Domain_DOMAIN_TRANSPORT: {
		{"transport", 1}, {"транспорт", 1}, {"logistic", 1}, {"логистик", 1}, {"road$", 0.5}, {"roads$", 0.5}, {"дорог", 0.5},
		{"railway", 1}, {"rail$", 1}, {"железнодорожн", 1}, {"aviation", 1}, {"авиа", 1}, {"air services", 1},
		{"воздушн сообщен", 1}, {"transit", 1}, {"транзит", 1}, {"freight", 1}, {"cargo", 1}, {"груз$", 1}, {"грузов", 1}, {"грузоперевоз", 1}, {"shipping", 1},
		{"bus$", 0.5}, {"buses", 0.5}, {"автобус", 0.5}, {"vehicle", 0.5}, {"corridor", 1}, {"коридор", 1}, {"port$", 1},
		{"автомобильн сообщен", 1}, {"железнодорожн сообщен", 1}, {"автомобильн", 0.5}, {"direct flights", 1}, {"авиасообщен", 1}, {"перевоз", 1}, {"carriage", 1},
	},
	bilatv1.Domain_DOMAIN_CONSTRUCTION: {
		{"construction", 1}, {"строительств", 1}, {"строител", 1}, {"infrastructure", 1}, {"инфраструктур", 1},
		{"housing", 1}, {"жилищн", 1}, {"architect", 1}, {"архитектур", 1}, {"building", 0.5}, {"зданий", 0.5},
		{"urban development", 1}, {"градостроительн", 1},
	},
	bilatv1.Domain_DOMAIN_SCIENCE_TECHNOLOGY: {
		{"scien", 1}, {"наук", 1}, {"научн", 1}, {"technolog", 1}, {"технолог", 1}, {"research", 1}, {"исследоват", 1},
		{"исследован", 1}, {"innovat", 1}, {"инновац", 1}, {"инновацион", 1}, {"technopark", 1}, {"технопарк", 1},
		{"laborator", 1}, {"лаборатор", 1}, {"s t$", 1}, {"r d$", 1}, {"technical", 0.5}, {"техническ", 0.5},
		{"hi tech", 1}, {"high tech", 1}, {"aerospace", 1}, {"space$", 1}, {"космическ", 1}, {"laser", 1}, {"лазерн", 1},
		{"horizon 2020", 1}, {"patent", 0.5}, {"изобретен", 0.5}, {"scientist", 1}, {"учены", 1},
	},
	bilatv1.Domain_DOMAIN_EDUCATION: {
		{"educat", 1}, {"образован", 1}, {"образовательн", 1}, {"universit", 0.5}, {"университет", 0.5},
		{"training", 1}, {"обучен", 1}, {"подготовк кадр", 1}, {"student", 1}, {"студент", 1}, {"academic degree", 1},
		{"ученых степен", 1}, {"school", 1}, {"школ", 1}, {"teacher", 1}, {"учител", 1}, {"преподавател", 1},
		{"diploma", 1}, {"диплом", 1}, {"joint institute", 1}, {"scholarship", 1}, {"стипенди", 1}, {"вуз", 1},
		{"higher education", 1}, {"высш образован", 1}, {"высш учебн", 1}, {"language", 0.5}, {"язык", 0.5},
	},
	bilatv1.Domain_DOMAIN_CULTURE: {
		{"cultur", 1}, {"культур", 1}, {"art$", 1}, {"arts$", 1}, {"искусств", 1}, {"museum", 1}, {"музе", 1},
		{"theatre", 1}, {"theater", 1}, {"театр", 1}, {"film", 1}, {"cinema", 1}, {"кино", 1}, {"library", 1},
		{"библиотек", 1}, {"heritage", 1}, {"наследи", 1}, {"festival", 1}, {"фестивал", 1}, {"archive", 1}, {"архив", 1},
		{"socio cultural", 1}, {"социально культурн", 1}, {"studies$", 0.5}, {"language", 0.5}, {"язык", 0.5}, {"days of", 0.5}, {"дни", 0.5},
	},
	bilatv1.Domain_DOMAIN_HEALTH: {
		{"health", 1}, {"здравоохранен", 1}, {"здоровь", 1}, {"medic", 1}, {"медицин", 1}, {"pharma", 1}, {"фармац", 1},
		{"лекарств", 1}, {"hospital", 1}, {"больниц", 1}, {"cardiolog", 1}, {"кардиолог", 1}, {"disease", 1}, {"заболеван", 1},
		{"epidem", 1}, {"эпидем", 1}, {"vaccin", 1}, {"вакцин", 1}, {"sanitary", 0.5}, {"санитарн", 0.5}, {"clinic", 1}, {"клиник", 1},
	},
	bilatv1.Domain_DOMAIN_TOURISM: {
		{"touris", 1}, {"туризм", 1}, {"туристск", 1}, {"туристич", 1}, {"travel", 1}, {"hotel", 1}, {"гостиниц", 1},
		{"recreation", 0.5}, {"отдых", 0.5}, {"resort", 1}, {"курорт", 1}, {"visitor", 0.5},
	},
	bilatv1.Domain_DOMAIN_INFORMATION: {
		{"information$", 1}, {"информац", 1}, {"информационн", 1}, {"media", 1}, {"сми$", 1}, {"mass media", 1},
		{"средств массов информац", 1}, {"press$", 1}, {"печат", 1}, {"broadcast", 1}, {"телерадио", 1},
		{"television", 1}, {"телевиден", 1}, {"news", 1}, {"новост", 1}, {"journalis", 1}, {"журналист", 1},
		{"publishing", 1}, {"издательск", 1}, {"information space", 1},
	},
	bilatv1.Domain_DOMAIN_MILITARY_TECHNICAL: {
		{"military", 1}, {"военн", 1}, {"военно", 1}, {"defence", 0.5}, {"defense", 0.5}, {"оборон", 0.5},
		{"arms$", 1}, {"вооружен", 1}, {"weapon", 1},
	},
	bilatv1.Domain_DOMAIN_SECURITY: {
		{"security", 1}, {"безопасност", 1}, {"crime", 1}, {"преступн", 1}, {"terror", 1}, {"террор", 1},
		{"police", 1}, {"полици", 1}, {"милици", 1}, {"law enforcement", 1}, {"правоохранит", 1}, {"drug", 1},
		{"наркот", 1}, {"public safety", 1}, {"disaster risk", 1}, {"border guard", 1}, {"пограничн", 1}, {"extremism", 1}, {"экстремизм", 1},
	},
	bilatv1.Domain_DOMAIN_EMERGENCIES: {
		{"emergenc", 1}, {"чрезвычайн", 1}, {"disaster", 1}, {"бедств", 1}, {"rescue", 1}, {"спасат", 1},
		{"civil defen", 1}, {"гражданск оборон", 1}, {"fire fighting", 1}, {"firefighting", 1}, {"пожар", 1},
		{"catastroph", 1}, {"катастроф", 1}, {"авари", 0.5},
	},
	bilatv1.Domain_DOMAIN_ENVIRONMENT: {
		{"environment", 1}, {"окружающ сред", 1}, {"охран природ", 1}, {"природоохран", 1}, {"ecolog", 1}, {"эколог", 1},
		{"climate", 1}, {"климат", 1}, {"biodivers", 1}, {"биоразнообраз", 1}, {"nature", 0.5}, {"природ", 0.5},
		{"pollution", 1}, {"загрязнен", 1}, {"waste", 1}, {"отход", 1}, {"forest", 1}, {"лесн", 1}, {"water resources", 1},
		{"водн ресурс", 1}, {"botanic", 0.5}, {"ботаническ", 0.5}, {"electric buses", 0.5}, {"green", 0.5},
	},
	bilatv1.Domain_DOMAIN_MIGRATION_LABOUR: {
		{"migra", 1}, {"миграц", 1}, {"мигрант", 1}, {"labour", 1}, {"labor$", 1}, {"трудов", 1}, {"employment", 1},
		{"занятост", 1}, {"workers", 1}, {"работник", 1}, {"readmission", 1}, {"реадмисс", 1}, {"visa", 1}, {"визов", 1},
	},
	bilatv1.Domain_DOMAIN_FINANCE_TAX: {
		{"financ", 1}, {"финанс", 1}, {"tax", 1}, {"налог", 1}, {"taxation", 1}, {"bank", 1}, {"банк", 1},
		{"credit", 1}, {"кредит", 1}, {"loan", 1}, {"заем", 1}, {"займ", 1}, {"currency", 1}, {"валют", 1},
		{"payment", 1}, {"платеж", 1}, {"budget", 1}, {"бюджет", 1}, {"insurance", 1}, {"страхов", 1},
	},
	bilatv1.Domain_DOMAIN_CUSTOMS: {
		{"customs", 1}, {"таможен", 1}, {"tariff", 1}, {"тариф", 1}, {"checkpoint", 1}, {"пункт пропуск", 1},
	},
	bilatv1.Domain_DOMAIN_LEGAL: {
		{"legal", 1}, {"правов", 1}, {"law$", 1}, {"laws$", 1}, {"законодател", 1}, {"judicial", 1}, {"судебн", 1},
		{"court", 1}, {"суд$", 1}, {"justice", 1}, {"юстиц", 1}, {"extradition", 1}, {"выдач", 0.5}, {"notar", 1},
		{"нотари", 1}, {"regulation", 0.5}, {"положени", 0.5}, {"contractual framework", 0.5}, {"legislat", 1},
	},
	bilatv1.Domain_DOMAIN_HUMANITARIAN: {
		{"humanitar", 1}, {"гуманитарн", 1}, {"aid$", 0.5}, {"помощ", 0.5}, {"youth", 1}, {"молодеж", 1},
		{"social", 0.5}, {"социальн", 0.5}, {"socio cultural", 1}, {"социально культурн", 1}, {"people to people", 1},
		{"refugee", 1}, {"беженц", 1}, {"charit", 1}, {"благотворит", 1},
	},
	bilatv1.Domain_DOMAIN_SPORT: {
		{"sport", 1}, {"спорт", 1}, {"olymp", 1}, {"олимп", 1}, {"athlet", 1}, {"атлет", 1}, {"football", 1}, {"футбол", 1},
		{"physical culture", 1}, {"физическ культур", 1}, {"physical education", 1}, {"hockey", 1}, {"хоккей", 1},
	},
	bilatv1.Domain_DOMAIN_INTERREGIONAL: {
		{"interregional", 1}, {"межрегиональн", 1}, {"cross border", 1}, {"приграничн", 1}, {"border cooperation", 1},
		{"regions$", 0.5}, {"регионов", 0.5}, {"регион", 0.5}, {"sister city", 1}, {"twin", 1}, {"побратим", 1},
		{"forum regions", 1}, {"форум регионов", 1},
	},
	bilatv1.Domain_DOMAIN_POLITICAL: {
		{"political", 1}, {"политическ", 1}, {"diplomat", 1}, {"дипломат", 1}, {"consultations", 0.5}, {"консультац", 0.5},
		{"foreign affairs", 1}, {"иностранн дел", 1}, {"внешнеполитическ", 1}, {"parliament", 1}, {"парламент", 1},
		{"friendship", 1}, {"дружб", 1}, {"strategic partnership", 1}, {"стратегическ партнерств", 1},
		{"basis cooperation", 1}, {"basis relations", 1}, {"основах отношений", 1}, {"основах сотрудничеств", 1},
		{"embassy", 1}, {"посольств", 1}, {"consulate", 1}, {"консульств", 1}, {"interparliamentary", 1}, {"межпарламентск", 1},
	},
}

type weighted struct {
	text   string
	weight float64
}

// DomainThreshold is the weight a domain needs to be labelled.
const DomainThreshold = 1.0

type domainTerms struct {
	domain bilatv1.Domain
	terms  []term
}

// compiled is the lexicon in Key form, in domain order (deterministic output).
var compiled = func() []domainTerms {
	var out []domainTerms
	for d := bilatv1.Domain(0); int(d) < len(bilatv1.Domain_name); d++ {
		ws, ok := lexicon[d]
		if !ok {
			continue
		}
		dt := domainTerms{domain: d}
		for _, w := range ws {
			dt.terms = append(dt.terms, newTerm(w.text, w.weight))
		}
		out = append(out, dt)
	}
	return out
}()
