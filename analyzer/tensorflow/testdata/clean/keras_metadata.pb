
!root*{"class_name": "Dense"}