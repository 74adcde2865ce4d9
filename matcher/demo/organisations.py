"""Real institutions and enterprise groups of (or serving) the province, used as employers and posters.

People are fictional; the organisations are real so the demo reads like the province. Each entry lists
the sectors it is strong in, so that a coal-chemistry expert is not placed at an agricultural college.
Subsidiary names below group level are illustrative.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Institution:
    name: str
    kind: str  # InstitutionType value
    city: str  # a city of the province, or "" when outside it
    sectors: tuple[str, ...]
    domain: str
    location: str = ""  # for outside the province: where it is


def _i(name: str, kind: str, city: str, sectors: str, domain: str, location: str = "") -> Institution:
    return Institution(name, kind, city, tuple(sectors.split()), domain, location)


IN_PROVINCE = (
    _i("太原理工大学", "university", "太原", "energy coal_chemical materials equipment ai electronics", "tyut.edu.cn"),
    _i("山西大学", "university", "太原", "ai electronics materials coal_chemical other", "sxu.edu.cn"),
    _i("中北大学", "university", "太原", "equipment electronics materials ai", "nuc.edu.cn"),
    _i("太原科技大学", "university", "太原", "equipment materials ai", "tyust.edu.cn"),
    _i("山西农业大学", "university", "晋中", "other", "sxau.edu.cn"),
    _i("山西中医药大学", "university", "晋中", "other", "sxtcm.edu.cn"),
    _i("山西大同大学", "university", "大同", "energy materials", "sxdtdx.edu.cn"),
    _i("长治学院", "university", "长治", "coal_chemical energy", "czc.edu.cn"),
    _i("运城学院", "university", "运城", "materials other", "ycu.edu.cn"),
    _i("太原师范学院", "university", "晋中", "ai electronics", "tynu.edu.cn"),
    _i("中国科学院山西煤炭化学研究所", "institute", "太原", "coal_chemical materials energy", "sxicc.ac.cn"),
    _i("怀柔实验室山西研究院", "institute", "太原", "energy coal_chemical", "hrl-sx.cn"),
    _i("中国电子科技集团公司第二研究所", "institute", "太原", "electronics", "cetc2.com.cn"),
    _i("中国煤炭科工集团太原研究院", "institute", "太原", "equipment energy", "tymri.com.cn"),
    _i("山西省煤炭地质研究所", "institute", "太原", "energy other", "sxmtdz.cn"),
    _i("中国日用化学研究院", "institute", "太原", "materials coal_chemical", "cricic.com"),
    _i("山西省农业科学院", "institute", "太原", "other", "sxagri.ac.cn"),
)

OUTSIDE = (
    _i("清华大学", "university", "", "energy ai electronics materials equipment", "tsinghua.edu.cn", "北京"),
    _i("北京大学", "university", "", "ai electronics materials", "pku.edu.cn", "北京"),
    _i("中国矿业大学", "university", "", "energy coal_chemical equipment other", "cumt.edu.cn", "江苏徐州"),
    _i("中国矿业大学（北京）", "university", "", "energy coal_chemical other", "cumtb.edu.cn", "北京"),
    _i("华东理工大学", "university", "", "coal_chemical materials", "ecust.edu.cn", "上海"),
    _i("天津大学", "university", "", "coal_chemical equipment materials", "tju.edu.cn", "天津"),
    _i("大连理工大学", "university", "", "coal_chemical equipment materials", "dlut.edu.cn", "辽宁大连"),
    _i("西安交通大学", "university", "", "energy electronics equipment", "xjtu.edu.cn", "陕西西安"),
    _i("浙江大学", "university", "", "energy ai electronics equipment", "zju.edu.cn", "浙江杭州"),
    _i("哈尔滨工业大学", "university", "", "equipment ai materials", "hit.edu.cn", "黑龙江哈尔滨"),
    _i("北京科技大学", "university", "", "materials equipment", "ustb.edu.cn", "北京"),
    _i("东北大学", "university", "", "materials ai equipment", "neu.edu.cn", "辽宁沈阳"),
    _i("华中科技大学", "university", "", "electronics energy equipment ai", "hust.edu.cn", "湖北武汉"),
    _i("中南大学", "university", "", "materials energy", "csu.edu.cn", "湖南长沙"),
    _i("上海交通大学", "university", "", "equipment ai energy", "sjtu.edu.cn", "上海"),
    _i("西安电子科技大学", "university", "", "electronics ai", "xidian.edu.cn", "陕西西安"),
    _i("中国科学院大连化学物理研究所", "institute", "", "coal_chemical energy materials", "dicp.ac.cn", "辽宁大连"),
    _i("中国科学院过程工程研究所", "institute", "", "coal_chemical materials", "ipe.ac.cn", "北京"),
    _i("中国科学院自动化研究所", "institute", "", "ai", "ia.ac.cn", "北京"),
    _i("中国科学院半导体研究所", "institute", "", "electronics", "semi.ac.cn", "北京"),
    _i("中国农业科学院", "institute", "", "other", "caas.cn", "北京"),
    _i("德国亚琛工业大学", "overseas", "", "equipment materials energy", "rwth-aachen.de", "德国"),
    _i("新加坡国立大学", "overseas", "", "ai electronics materials", "nus.edu.sg", "新加坡"),
    _i("日本东北大学", "overseas", "", "materials electronics", "tohoku.ac.jp", "日本"),
    _i("澳大利亚新南威尔士大学", "overseas", "", "energy coal_chemical", "unsw.edu.au", "澳大利亚"),
)


@dataclass(frozen=True)
class Company:
    name: str
    city: str
    sector: str
    industry: str
    joint_post: bool  # has an R&D centre able to host a 双聘 post


def _c(name: str, city: str, sector: str, industry: str, joint: bool = False) -> Company:
    return Company(name, city, sector, industry, joint)


COMPANIES = (
    _c("晋能控股集团塔山煤矿", "大同", "energy", "0610", True),
    _c("晋能控股装备制造集团寺河煤矿", "晋城", "energy", "0610"),
    _c("山西焦煤集团西山煤电屯兰矿", "太原", "energy", "0610", True),
    _c("山西焦煤集团汾西矿业", "晋中", "energy", "0610"),
    _c("华阳新材料科技集团新元煤矿", "阳泉", "energy", "0610"),
    _c("潞安化工集团王庄煤矿", "长治", "energy", "0610"),
    _c("晋能控股电力集团塔山发电公司", "大同", "energy", "4411", True),
    _c("山西漳泽电力股份有限公司", "太原", "energy", "4411"),
    _c("山西国际能源集团光伏电站", "朔州", "energy", "4416"),
    _c("国网山西省电力公司晋中供电公司", "晋中", "energy", "4420", True),
    _c("美锦能源氢能科技公司", "太原", "energy", "4411"),
    _c("潞安化工集团煤基清洁能源公司", "长治", "coal_chemical", "2523", True),
    _c("潞安化工集团煤制油分公司", "长治", "coal_chemical", "2523"),
    _c("晋能控股煤业集团天脊煤化工公司", "长治", "coal_chemical", "2614"),
    _c("华阳新材料科技集团化工公司", "阳泉", "coal_chemical", "2614"),
    _c("山西焦化集团有限公司", "临汾", "coal_chemical", "2521", True),
    _c("山西梗阳新能源有限公司", "太原", "coal_chemical", "2521"),
    _c("山西宏达焦化有限公司", "吕梁", "coal_chemical", "2521"),
    _c("阳煤丰喜肥业集团", "运城", "coal_chemical", "2622"),
    _c("山西沃能化工科技公司", "吕梁", "coal_chemical", "3091"),
    _c("太原重型机械集团有限公司", "太原", "equipment", "3516", True),
    _c("太重集团榆次液压工业有限公司", "晋中", "equipment", "3444"),
    _c("太原重工轨道交通设备有限公司", "太原", "equipment", "3714", True),
    _c("山西平阳重工机械有限责任公司", "临汾", "equipment", "3511"),
    _c("晋能控股装备制造集团金鼎煤机公司", "晋城", "equipment", "3511"),
    _c("山西天地煤机装备有限公司", "太原", "equipment", "3511", True),
    _c("中车太原机车车辆有限公司", "太原", "equipment", "3714"),
    _c("中电科（山西）碳化硅材料产业基地", "太原", "electronics", "3972", True),
    _c("山西烁科晶体有限公司", "太原", "electronics", "3985", True),
    _c("山西中科潞安紫外光电科技有限公司", "长治", "electronics", "3976"),
    _c("山西光兴光电科技有限公司", "太原", "electronics", "3976"),
    _c("山西百信信息技术有限公司", "太原", "electronics", "3911"),
    _c("山西转型综改示范区数字产业公司", "太原", "electronics", "6513"),
    _c("太原钢铁（集团）有限公司", "太原", "materials", "3120", True),
    _c("山西太钢不锈钢精密带钢有限公司", "太原", "materials", "3130"),
    _c("山西银光华盛镁业股份有限公司", "运城", "materials", "3216"),
    _c("山西华翔集团股份有限公司", "临汾", "materials", "3391"),
    _c("山西钢科碳材料有限公司", "太原", "materials", "2825", True),
    _c("山西瑞赛科环保科技有限公司", "晋中", "materials", "3985"),
    _c("山西华阳新材料科技集团可降解材料公司", "阳泉", "materials", "2651"),
    _c("山西智慧矿山科技有限公司", "太原", "ai", "6513", True),
    _c("山西云时代技术有限公司", "太原", "ai", "6550", True),
    _c("山西焦煤集团智能科技公司", "太原", "ai", "6513"),
    _c("山西交控物流集团智能调度中心", "太原", "ai", "6560"),
    _c("山西东方智能装备科技公司", "晋中", "ai", "3491"),
    _c("山西沁州黄小米集团有限公司", "长治", "other", "0119"),
    _c("山西振东制药股份有限公司", "长治", "other", "2730", True),
    _c("山西广誉远国药有限公司", "晋中", "other", "2730"),
    _c("晋能控股集团生态修复工程公司", "朔州", "other", "7721"),
)

INTERMEDIARIES = (
    ("山西省人才交流服务中心", "太原"),
    ("山西科技成果转化和知识产权交易服务中心", "太原"),
    ("晋创谷（太原）科技服务有限公司", "太原"),
    ("长治市高层次人才服务有限公司", "长治"),
    ("运城科创人才服务中心", "运城"),
)
