
1
xPlaceholderx:0"/device:CPU:0*
dtype0
-
wConstx:0"/device:CPU:0*
valueB
 
mmMatMulx:0"/device:CPU:0

bConstx:0"/device:CPU:0

addAddx:0"/device:CPU:0
#
c
MyCustomOpx:0"/device:CPU:0"µ	